import { spawnSync } from 'node:child_process';
if (process.argv[2] === 'child') { const m = await import('@tubelet/core'); console.log('child ok', typeof m.exportOnnx, process.env.TSX_TSCONFIG_PATH); }
else { console.log(process.execArgv, Object.keys(process.env).filter(k=>k.includes('TSX'))); const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, 'child'], { encoding: 'utf8' }); console.log(r.stdout, r.stderr.slice(0,500)); }
