// thriftrw ships no types; this is the part the Jaeger decoder uses.
declare module 'thriftrw' {
  export class Thrift {
    constructor(options: { source: string; allowOptionalArguments?: boolean });
    // biome-ignore lint/suspicious/noExplicitAny: generated struct types.
    readonly [name: string]: any;
  }
}
