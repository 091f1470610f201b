/** The preview page's only style sheet (inlined, allowed by its sha256 in the page's CSP). */
export const PAGE_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #fff; }
header { background: #1b3a5c; color: #fff; padding: 12px 20px; } header h1 { margin: 0; font-size: 20px; } header p { margin: 4px 0 0; opacity: .8; }
main { padding: 0 20px 40px; } section { margin-top: 24px; } h2 { border-bottom: 1px solid #ccd; padding-bottom: 4px; }
table { border-collapse: collapse; } td, th { border: 1px solid #dde; padding: 2px 6px; text-align: left; vertical-align: top; } td.cidrs { font-family: monospace; max-width: 420px; }
pre { background: #f5f7fa; padding: 8px; overflow: auto; max-height: 480px; } pre.diag { white-space: pre-wrap; } pre.diag.error { border-left: 4px solid #c62828; } pre.diag.warning { border-left: 4px solid #f9a825; }
.c { color: #6a737d; }
#probe { font: 16px monospace; width: 28em; padding: 4px; } #probe:focus, button:focus, summary:focus { outline: 3px solid #2f6fdf; }
.answer { font: 15px monospace; padding: 6px; } .answer.tunnel { background: #e3f0ff; } .answer.direct { background: #eaf7e6; } .answer.name { background: #f3ecff; } .answer.bad { background: #ffecec; }
.map { display: grid; grid-template-columns: repeat(16, 34px); gap: 2px; }
.cell { display: inline-block; font: 10px monospace; text-align: center; line-height: 22px; min-width: 34px; height: 22px; }
.cell.tunnel { background: #5b8def; color: #fff; } .cell.direct { background: #7cc47f; } .cell.mixed { background: repeating-linear-gradient(45deg, #5b8def, #5b8def 4px, #7cc47f 4px, #7cc47f 8px); color: #fff; }
.cell.bypass { outline: 2px solid #d32f2f; outline-offset: -2px; }
.flow { display: flex; align-items: flex-start; gap: 8px; flex-wrap: wrap; } .box { border: 1px solid #99a; border-radius: 6px; padding: 6px 10px; background: #fafbff; } .arrow { font-size: 22px; padding-top: 4px; }
.branches { display: flex; flex-direction: column; gap: 8px; } .box h3 { margin: 0 0 4px; font-size: 14px; }
.note { color: #6a737d; font-style: italic; }
`;
