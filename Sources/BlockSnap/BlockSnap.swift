// The umbrella module: `import BlockSnap` gives a host every layer at once.
@_exported import BlockStore
@_exported import PageRangeDiff
@_exported import Policy
@_exported import RecoveryChain
