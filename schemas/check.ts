import type { Static, StaticDecode, StaticEncode, TSchema } from '@sinclair/typebox';
import { TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * A schema's compiled validator, compiled on first use: a process pays only for the schemas it
 * checks (importing every schema module compiled them all, ~90 ms and their code kept, in every
 * role). The same TypeCheck surface; once compiled, each call goes straight to the compiled one.
 */
class LazyTypeCheck<T extends TSchema> extends TypeCheck<T> {
  private compiled: TypeCheck<T> | null = null;

  constructor(schema: T) {
    // Never called: every method using the check function is overridden to the compiled one.
    super(schema, [], () => false, '');
  }

  private get check(): TypeCheck<T> {
    return (this.compiled ??= TypeCompiler.Compile(this.Schema()));
  }

  override Code(): string {
    return this.check.Code();
  }

  override Check(value: unknown): value is Static<T> {
    return this.check.Check(value);
  }

  override Decode<S = StaticDecode<T>, R extends S = S>(value: unknown): R {
    return this.check.Decode<S, R>(value);
  }

  override Encode<S = StaticEncode<T>, R extends S = S>(value: unknown): R {
    return this.check.Encode<S, R>(value);
  }
}

/** The validator of `schema`, compiled when first used. */
export const lazyCheck = <T extends TSchema>(schema: T): TypeCheck<T> => new LazyTypeCheck(schema);
