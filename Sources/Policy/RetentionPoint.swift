/// The policy's view of a recovery point (see ``RecoveryPoint``), under the name hosts use beside
/// `RecoveryChain.RecoveryPoint` when they import the `BlockSnap` umbrella.
public typealias RetentionPoint = RecoveryPoint
