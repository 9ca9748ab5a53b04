/** Node file access for the checkpoint readers; `node:fs/promises` is imported lazily so the pure parsers stay browser-safe. */
import { CheckpointError } from './types';

/** A file opened for positioned reads. */
export interface RandomAccessFile {
  readonly path: string;
  readonly size: number;
  /** Fills `target` with the bytes at `position`; a short file is a CheckpointError. */
  readInto(target: Uint8Array, position: number): Promise<void>;
  /** Reads `length` bytes at `position` into a fresh buffer. */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openRandomAccess(path: string): Promise<RandomAccessFile> {
  const fs = await import('node:fs/promises');
  const handle = await fs.open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  const readInto = async (target: Uint8Array, position: number): Promise<void> => {
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
      if (bytesRead === 0) {
        throw new CheckpointError(
          `unexpected end of file reading ${target.length} bytes at offset ${position} (file is ${size} bytes)`,
          path,
        );
      }
      done += bytesRead;
    }
  };
  return {
    path,
    size,
    readInto,
    async read(position, length) {
      const out = new Uint8Array(length);
      await readInto(out, position);
      return out;
    },
    close: () => handle.close(),
  };
}

/** Runs `fn` with the file open, closing it afterwards. */
export async function withFile<T>(path: string, fn: (file: RandomAccessFile) => Promise<T>): Promise<T> {
  const file = await openRandomAccess(path);
  try {
    return await fn(file);
  } finally {
    await file.close();
  }
}
