import BlockStore
import PageRangeDiff

/// Full and incremental chains of recovery points (filled in by the RecoveryChain issue).
public enum RecoveryChain {}
