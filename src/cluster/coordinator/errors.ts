// Errors of the coordinator that a caller (or a test) tells apart by class.

/** Another live coordinator holds the run's lease: this one must not drive the run. */
export class LeaseHeldError extends Error {
  constructor(
    readonly runId: string,
    readonly holder: string,
  ) {
    super(
      `run ${runId} is already driven by another coordinator (${holder}); it holds the run's lease. ` +
        'Stop it first, or give this run another run_id.',
    );
    this.name = 'LeaseHeldError';
  }
}

/** This coordinator's lease passed to another (or could not be renewed in time): it stops driving. */
export class LeaseLostError extends Error {
  constructor(
    readonly runId: string,
    why: string,
  ) {
    super(`lost the lease on run ${runId}: ${why}; this coordinator stops (no further update is sent)`);
    this.name = 'LeaseLostError';
  }
}
