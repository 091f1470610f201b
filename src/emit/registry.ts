/**
 * The target registry: one entry per OS, listed here and nowhere else.
 * `warpc compile --target all` means every entry, in this order.
 */
import { linux } from '../../targets/linux/index.js';
import { macos } from '../../targets/macos/index.js';
import { windows } from '../../targets/windows/index.js';
import { ios } from '../../targets/ios/index.js';
import { android } from '../../targets/android/index.js';
import { mdm } from '../../targets/mdm/index.js';
import type { TargetModule } from './target.js';

export const TARGETS: readonly TargetModule[] = [linux, macos, windows, ios, android, mdm];

export function targetNames(): string[] {
  return TARGETS.map((t) => t.name);
}

export function findTarget(name: string): TargetModule | undefined {
  return TARGETS.find((t) => t.name === name);
}
