import type { LifecycleCheckpoint, LifecycleStatus } from '../../core/lifecycle.js';
import type { Stage } from '../../core/stages.js';
import { approvalSlice, type ApprovalSlice } from './stages/approval.js';
import { deploySlice, type DeploySlice } from './stages/deploy.js';
import { monitorSlice, type MonitorSlice } from './stages/monitor.js';
import { retrainSlice, type RetrainSlice } from './stages/retrain.js';
import { retireSlice, type RetireSlice } from './stages/retire.js';
import { windowsCheckpoint } from './stages/windows.js';

/**
 * Everything a lifecycle remembers, one slice per stage (each stage module owns and documents its own), and
 * the three views of it: resumed from a checkpoint, handed to the next run, shown to the status query.
 */
export class LifecycleState {
  private constructor(
    /** Position of the next transition across the whole lifecycle. */
    public seq: number,
    public stage: Stage,
    /** 1 for the first run; grows with each continue-as-new. */
    public readonly run: number,
    /** The catalog row every projection references; attempts that arrive earlier wait for it. */
    public registered: boolean,
    public readonly approval: ApprovalSlice,
    public readonly deploy: DeploySlice,
    public readonly monitor: MonitorSlice,
    public readonly retrain: RetrainSlice,
    public readonly retire: RetireSlice,
  ) {}

  /** A new lifecycle's state, or the one a previous run handed over (older checkpoints lack newer fields). */
  static fromCheckpoint(resume: LifecycleCheckpoint | undefined): LifecycleState {
    return new LifecycleState(
      resume?.seq ?? 0,
      resume?.stage ?? 'register',
      resume ? resume.run + 1 : 1,
      resume !== undefined,
      approvalSlice(resume),
      deploySlice(resume),
      monitorSlice(resume),
      retrainSlice(resume),
      retireSlice(resume),
    );
  }

  /** Only the monitor loop continues-as-new, so a checkpoint is always taken with a live deployment. */
  checkpoint(): LifecycleCheckpoint {
    const { approval, deploy, monitor, retrain, retire } = this;
    return {
      seq: this.seq,
      approvalSeq: approval.seq,
      run: this.run,
      stage: this.stage === 'retrain' ? 'retrain' : 'monitor',
      monitorCycles: monitor.cycles,
      deployment: deploy.deployment!,
      approvals: approval.attempts,
      successor: retrain.successor,
      pendingRetrain: retrain.pending,
      pendingRetire: retire.pending,
      superseded: retire.superseded,
      ...(retrain.lastRetrainAt ? { lastRetrainAt: retrain.lastRetrainAt } : {}),
      ...(retrain.lastLostVersion ? { lastLostVersion: retrain.lastLostVersion } : {}),
      ...windowsCheckpoint(monitor),
    };
  }

  status(about: Pick<LifecycleStatus, 'modelVersionId' | 'template' | 'parentWorkflowId'>, driftUnwatchedBecause: string | null): LifecycleStatus {
    const { approval, deploy, monitor, retrain } = this;
    const { gate, step } = approval;
    return {
      ...about,
      stage: this.stage,
      run: this.run,
      monitorCycles: monitor.cycles,
      approvals: approval.attempts,
      deployment: deploy.deployment,
      phase: deploy.phase,
      successor: retrain.successor,
      drift: { watched: driftUnwatchedBecause === null, unwatchedBecause: driftUnwatchedBecause, last: monitor.lastDrift },
      gate:
        gate?.open === true && step
          ? { eligibleGroups: gate.eligibleGroups, approvals: gate.counted.map((c) => c.principal), quorum: step.policy.quorum, deadline: approval.deadline }
          : null,
    };
  }
}
