/**
 * The api's view of a container's state (pure): which phase an inspected container is in.
 */
import type Docker from 'dockerode';
import type { ProviderPhase, ProviderStatus } from '../provider.js';

/** Restarts after which a crash-looping container is reported `Failed` rather than `Provisioning`. */
const CRASH_LOOP_RESTARTS = 3;

/** What {@link phaseOf} needs of a container. */
export interface ContainerState {
  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`. */
  status: string;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  restartCount: number;
  /** The image's HEALTHCHECK verdict: `starting`, `healthy`, `unhealthy`, or undefined without one. */
  health: string | undefined;
  /** Output of the last failed HEALTHCHECK probe, if any. */
  healthOutput: string | undefined;
}

/**
 * The api's view of a container (pure).
 * @param wanted whether the provider wants it running (true), stopped (false), or does not know (undefined: a stopped
 *   `unless-stopped` container was stopped on purpose, so it counts as suspended).
 * @param sessionState the session state from the instance's `/health`, or undefined when it did not answer.
 */
export function phaseOf(c: ContainerState, wanted: boolean | undefined, sessionState: string | undefined): ProviderStatus {
  const exit = `exit code ${c.exitCode}${c.oomKilled ? ', out of memory' : ''}`;
  const st = (phase: ProviderPhase, message?: string): ProviderStatus => ({
    phase,
    ...(sessionState ? { sessionState } : {}),
    ...(message ? { message } : {}),
  });
  switch (c.status) {
    case 'running':
      if (sessionState) return st('Running');
      if (c.health === 'unhealthy')
        return st('Failed', `the instance fails its health check${c.healthOutput ? `: ${c.healthOutput.trim().slice(0, 200)}` : ''}`);
      return st('Provisioning', 'the instance is starting');
    case 'restarting':
      return c.restartCount >= CRASH_LOOP_RESTARTS
        ? st('Failed', `the instance keeps exiting (${exit}, ${c.restartCount} restarts)`)
        : st('Provisioning', `restarting after ${exit}`);
    case 'removing':
      return st('Terminating', 'the container is being removed');
    case 'dead':
      return st('Failed', `the container is dead${c.error ? `: ${c.error}` : ''}`);
    case 'paused':
      return st('Failed', 'the container is paused (resume unpauses it)');
    case 'created':
    case 'exited':
      if (c.error) return st('Failed', `the container cannot start: ${c.error}`);
      if (wanted === false || (wanted === undefined && c.status === 'exited')) return st('Suspended');
      if (c.status === 'created') return st(wanted ? 'Provisioning' : 'Pending', 'the container is created, not started yet');
      return st('Failed', `the container stopped (${exit})`);
    default:
      return st('Provisioning', `container state ${c.status}`);
  }
}

/** The parts of an inspected container that {@link phaseOf} reads. */
export function stateOf(c: Docker.ContainerInspectInfo): ContainerState {
  const log = c.State.Health?.Log ?? [];
  const lastFailed = [...log].reverse().find((l) => l.ExitCode !== 0);
  return {
    status: c.State.Status,
    exitCode: c.State.ExitCode,
    error: c.State.Error ?? '',
    oomKilled: c.State.OOMKilled,
    restartCount: c.RestartCount ?? 0,
    health: c.State.Health?.Status,
    healthOutput: lastFailed?.Output,
  };
}
