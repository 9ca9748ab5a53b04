import { parseArgs } from 'node:util';
import { runBackends } from './commands/backends';
import { CLASSIFY_USAGE, type ClassifyOptions, runClassify } from './commands/classify';
import { runConvert } from './commands/convert';
import { runDemo } from './commands/demo';
import { runInspect } from './commands/inspect';
import { runModels } from './commands/models';
import { BENCH_USAGE, runBench } from './commands/bench';
import { DETECT_OPTIONS, DETECT_SUMMARY, DETECT_USAGE, runDetect } from './commands/detect';
import { POSE_OPTIONS, POSE_SUMMARY, POSE_USAGE, runPoseCli } from './commands/pose';
import { RUN_ARCHS, runRun } from './commands/run';

/** A mistake by the user: printed as one line, exit code 1 (2 for usage errors). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  positionals: [number, number];
  run(positionals: string[], values: Record<string, unknown>): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  backends: {
    summary: 'list the compute backends and whether each can run here (and why not)',
    usage: 'tubelet backends [--json]',
    options: { json: { type: 'boolean' } },
    positionals: [0, 0],
    run: (_p, v) => runBackends({ json: Boolean(v.json) }),
  },
  models: {
    summary: 'list the named model configs (UniFormer and ViViT variants)',
    usage: 'tubelet models [--json]',
    options: { json: { type: 'boolean' } },
    positionals: [0, 0],
    run: (_p, v) => runModels({ json: Boolean(v.json) }),
  },
  inspect: {
    summary: 'report a named model (exact parameters, FLOPs per stage, output shapes, peak activations) or a checkpoint file (keys, shapes, dtypes)',
    usage: 'tubelet inspect <model name | checkpoint.pth | .safetensors> [--all] [--json]',
    options: { all: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: [1, 1],
    run: (p, v) => runInspect(p[0]!, { all: Boolean(v.all), json: Boolean(v.json) }),
  },
  convert: {
    summary: 'convert a PyTorch checkpoint (.pth) to .safetensors (wrappers like {"model": ...} are unwrapped)',
    usage: 'tubelet convert <in.pth> <out.safetensors> [--force]',
    options: { force: { type: 'boolean' } },
    positionals: [2, 2],
    run: (p, v) => runConvert(p[0]!, p[1]!, { force: Boolean(v.force) }),
  },
  run: {
    summary: 'run a model on the tensor named `input` of a .safetensors file and write the requested named outputs (parity checks against PyTorch)',
    usage: `tubelet run --arch <${RUN_ARCHS.join('|')}> --config cfg.json|vectors.safetensors (--weights W | --seed N) --input in.safetensors --output out.safetensors [--backend NAME] [--outputs a,b,…|all]`,
    options: {
      arch: { type: 'string' },
      config: { type: 'string' },
      weights: { type: 'string' },
      seed: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      backend: { type: 'string' },
      outputs: { type: 'string' },
    },
    positionals: [0, 0],
    run: (_p, v) => {
      for (const k of ['arch', 'config', 'input', 'output'] as const) if (typeof v[k] !== 'string') throw new UserError(`--${k} is required`, 2);
      return runRun(v as never);
    },
  },
  classify: {
    summary: 'classify a video, image, folder of frames or URL with a named model: official test preprocessing, views, top-k with label names and timings',
    usage: CLASSIFY_USAGE,
    options: {
      model: { type: 'string' },
      config: { type: 'string' },
      weights: { type: 'string' },
      sha256: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      views: { type: 'string' },
      topk: { type: 'string' },
      labels: { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'boolean' },
    },
    positionals: [1, 1],
    run: (p, v) => runClassify(p[0]!, v as ClassifyOptions),
  },
  export: {
    summary: 'export a model (named or --arch/--config) with its weights to ONNX (opset 17, dynamic batch), traced on the tracing backend',
    usage: 'tubelet export <model> <out.onnx> [--format onnx] [--weights PATH|URL [--sha256 HEX] | --seed N] [--input-shape 1x3x16x224x224] [--outputs a,b,…] | tubelet export --arch <arch> --config cfg.json|vectors.safetensors <out.onnx> …',
    options: { format: { type: 'string' }, weights: { type: 'string' }, sha256: { type: 'string' }, seed: { type: 'string' }, arch: { type: 'string' }, config: { type: 'string' }, 'input-shape': { type: 'string' }, outputs: { type: 'string' } },
    positionals: [1, 2],
    run: async (p, v) => void (await (await import('./commands/export')).runExport({ ...(v as object), inputShape: v['input-shape'] as string | undefined, model: p.length === 2 ? p[0] : undefined, output: p[p.length - 1]! })),
  },
  bench: {
    summary: 'forward latency of a named model on a backend (warm-up, median and spread, GFLOP/s); --vs onnx runs the same model in onnxruntime-node in the same run',
    usage: BENCH_USAGE,
    options: { backend: { type: 'string' }, iters: { type: 'string' }, warmup: { type: 'string' }, vs: { type: 'string' }, 'input-shape': { type: 'string' }, json: { type: 'boolean' } },
    positionals: [1, 1],
    run: async (p, v) => {
      await runBench({ model: p[0]!, backend: v.backend as string | undefined, iters: v.iters as string | undefined, warmup: v.warmup as string | undefined, vs: v.vs as string | undefined, inputShape: v['input-shape'] as string | undefined, json: Boolean(v.json) });
    },
  },
  detect: {
    summary: DETECT_SUMMARY,
    usage: DETECT_USAGE,
    options: DETECT_OPTIONS,
    positionals: [1, 1],
    run: async (p, v) => {
      await runDetect({ input: p[0]!, ...v } as never);
    },
  },
  pose: {
    summary: POSE_SUMMARY,
    usage: POSE_USAGE,
    options: POSE_OPTIONS,
    positionals: [1, Infinity],
    run: async (p, v) => {
      await runPoseCli(p, v);
    },
  },
  demo: {
    summary: 'the foundation demo: backends, the .pth reader, safetensors round trip, a UniFormer stem on cpu',
    usage: 'tubelet demo',
    options: {},
    positionals: [0, 0],
    run: () => runDemo(),
  },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return ['tubelet — UniFormer and ViViT in TypeScript', '', 'usage: tubelet <command> [options]', '', 'commands:', ...rows, '', "run 'tubelet <command> --help' for a command's options"].join('\n');
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const c = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    console.log(c ? `${c.usage}\n\n${c.summary}` : help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(process.env.npm_package_version ?? '0.0.0');
    return 0;
  }
  const cmd = COMMANDS[name];
  try {
    if (!cmd) throw new UserError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}); see 'tubelet --help'`, 2);
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`${cmd.usage}\n\n${cmd.summary}`);
      return 0;
    }
    let parsed: { values: Record<string, unknown>; positionals: string[] };
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UserError(`${(e as Error).message.split('\n')[0]}; usage: ${cmd.usage}`, 2);
    }
    const n = parsed.positionals.length;
    if (n < cmd.positionals[0] || n > cmd.positionals[1]) throw new UserError(`wrong number of arguments; usage: ${cmd.usage}`, 2);
    await cmd.run(parsed.positionals, parsed.values);
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`tubelet: ${e.message}`);
      return e.exitCode;
    }
    // errors from the library (bad checkpoints, shapes, backends) are the user's input too: one line
    if (e instanceof Error && /Error$/.test(e.name) && e.name !== 'Error' && e.name !== 'TypeError' && e.name !== 'RangeError') {
      console.error(`tubelet: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
