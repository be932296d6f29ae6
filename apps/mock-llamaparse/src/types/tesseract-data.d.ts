/** `@tesseract.js-data/eng` ships no types: its CommonJS entry exports where its traineddata lies. */
declare module '@tesseract.js-data/eng' {
  /** `code` 'eng', `gzip` true, `langPath`: the `4.0.0` folder (legacy + LSTM `eng.traineddata.gz`). */
  export const code: string;
  export const gzip: boolean;
  export const langPath: string;
}
