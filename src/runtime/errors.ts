/** RuntimeClosedError: the runtime was closed (the engine is shutting down); the command was not recorded. */
export class RuntimeClosedError extends Error {
  constructor() {
    super('runtime closed');
    this.name = 'RuntimeClosedError';
  }
}
