/**
 * An error meant for the user: the CLI prints its message as one line, with no stack trace.
 * The message names the thing that is wrong and the fix.
 */
export class GantryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GantryError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
