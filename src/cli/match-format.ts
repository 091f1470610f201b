/** How `warpc match` (and `warpc explain DIR`) print a device's profile selection. */
import type { ImportFolder } from '../interop/folder.js';
import type { Device, Selection, Tried } from '../match/eval.js';
import type { DeviceFlags } from './options.js';

export function deviceOf(f: DeviceFlags): Device {
  return {
    ...(f.email !== undefined ? { email: f.email } : {}),
    ...(f.group !== undefined ? { groups: f.group } : {}),
    ...(f.os !== undefined ? { os: f.os } : {}),
    ...(f.osVersion !== undefined ? { osVersion: f.osVersion } : {}),
    ...(f.network !== undefined ? { network: f.network } : {}),
    ...(f.serviceToken !== undefined ? { serviceTokenUuid: f.serviceToken } : {}),
  };
}

export function deviceText(d: Device): string {
  const parts = [
    d.email !== undefined ? `email ${d.email}` : null,
    d.groups?.length ? `groups ${d.groups.join(', ')}` : null,
    d.os !== undefined ? `os ${d.os}${d.osVersion !== undefined ? ` ${d.osVersion}` : ''}` : d.osVersion !== undefined ? `os version ${d.osVersion}` : null,
    d.network !== undefined ? `network "${d.network}"` : null,
    d.serviceTokenUuid !== undefined ? `service token ${d.serviceTokenUuid}` : null,
  ].filter((x) => x !== null);
  return parts.length === 0 ? 'a device with nothing known about it' : `the device (${parts.join('; ')})`;
}

/** The chosen profile's file, relative to the folder. */
export function chosenFile(folder: ImportFolder, s: Selection): string {
  return s.chosen?.file ?? folder.defaultFile;
}

function triedLine(t: Tried, i: number): string {
  const c = t.candidate;
  const head = `  ${i + 1}. "${c.name}" (precedence ${c.precedence}, ${c.file}): `;
  switch (t.outcome) {
    case 'disabled':
      return `${head}skipped, the profile is disabled`;
    case 'invalid':
      return `${head}skipped, its match does not parse (warpc import reports where)`;
    default: {
      const steps = t.steps.map((s) => `       ${s.holds ? 'true ' : 'false'}  ${s.text}   (${s.saw})`);
      return [`${head}${t.outcome === 'matched' ? 'match holds' : 'match does not hold'}`, ...steps].join('\n');
    }
  }
}

export function selectionText(folder: ImportFolder, device: Device, s: Selection): string {
  const chosen = s.chosen ? `"${s.chosen.name}" (${chosenFile(folder, s)})` : `the default profile (${folder.defaultFile})`;
  const why = s.chosen ? 'the first profile whose match holds' : 'no profile matched';
  return `${deviceText(device)} gets ${chosen}: ${why}\n${s.tried.map(triedLine).join('\n')}${s.tried.length ? '\n' : ''}`;
}

export function selectionJson(folder: ImportFolder, device: Device, s: Selection): Record<string, unknown> {
  return {
    device,
    profile: s.chosen ? { name: s.chosen.name, file: s.chosen.file, policy_id: s.chosen.policyId, default: false } : { name: 'default', file: folder.defaultFile, policy_id: null, default: true },
    tried: s.tried.map((t) => ({
      name: t.candidate.name,
      file: t.candidate.file,
      policy_id: t.candidate.policyId,
      precedence: t.candidate.precedence,
      outcome: t.outcome,
      steps: t.steps.map((st) => ({ expression: st.text, holds: st.holds, saw: st.saw })),
    })),
  };
}
