/** One decoded picture: 8-bit RGB, interleaved (H, W, 3), row-major — what `ffmpeg -pix_fmt rgb24` writes. */
export interface RgbImage {
  width: number;
  height: number;
  /** length width*height*3 */
  data: Uint8Array;
}

/** A host tensor: float32 data in row-major order with its shape (e.g. N,C,T,H,W or N,C,H,W). */
export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

/** A problem with preprocessing input or options (bad --views, empty clip, wrong frame size): one line. */
export class PreprocessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreprocessError';
  }
}
