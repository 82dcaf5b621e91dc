/**
 * InvalidSettingError is a setting that cannot work, named by its path (e.g. `delays.startTimeout`).
 * It is thrown while the engine is being built, before anything starts, so a caller can tell a bad
 * setting from a failure at run time by its class, not its words.
 */
export class InvalidSettingError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidSettingError';
  }
}
