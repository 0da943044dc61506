/// The largest object of each kind a store reads, checked before a buffer is allocated.
///
/// Every whole-object read of the store goes through ``StorageBackend/get(_:byteCountMax:)``
/// with the limit of the object's kind, so an object that is huge (a sparse 1 TiB file under
/// `keys/`), endless or hostile costs no memory: the read fails with
/// ``BlockStoreError/Code/limitExceeded`` naming the object, its size and the limit, which
/// verify, repair and the other readers treat as damage. Ranged reads are bounded by their
/// range (a chunk by its entry's length, a pack header by ``packHeader``, a lock by ``lock``).
///
/// Each limit follows from the format's own limits, so no object a writer of this format can
/// produce is ever refused, plus ``headerSlackBytes`` for the fixed-size parts around the body.
package enum ObjectSizeLimits {
    /// Room for the fixed-size parts of any object: magic, version, mode byte, the seal's nonce
    /// and tag (``ObjectCrypto/sealOverhead``) and the headers later format versions add
    /// (a key ID, a checksum). 4 KiB: generous, and nothing beside the limits below.
    package static let headerSlackBytes = 4096

    /// `config`: a sealed JSON document of a few hundred bytes. 64 KiB leaves room for later
    /// settings.
    package static let configuration = 64 * 1024

    /// A key file (`keys/<id>`): ``KeyFile/encodedBytesMax``.
    package static let keyFile = KeyFile.encodedBytesMax

    /// A lock object or job guard (`locks/…`, `jobs/…`): ``LockLease/objectBytesMax``. Read as
    /// a range of one byte more, so a larger object is seen as foreign rather than refused
    /// (see ``LockObject/read(_:from:)``).
    package static let lock = LockLease.objectBytesMax

    /// An index object (`index/<id>`): at most ``IndexFile/entryCountMax`` entries of
    /// ``PackEntry/encodedBytes`` each, under at most as many packs (each lists at least one
    /// entry) of a 32-byte ID and a 4-byte count, after a 4-byte pack count. About 344 MiB.
    package static let indexObject =
        headerSlackBytes + 4 + IndexFile.entryCountMax * (PackEntry.encodedBytes + ChunkID.byteCount + 4)

    /// A root (`roots/<name>`): a 32-byte chunk ID, a 4-byte length and a payload of at most
    /// ``ChunkStore/rootPayloadBytesMax``.
    package static let root = headerSlackBytes + ChunkID.byteCount + 4 + ChunkStore.rootPayloadBytesMax

    /// A pack's sealed header block, as its trailer declares it: magic, version and count, then
    /// at most ``PackFormat/entryCountMax`` entries. About 46 MiB.
    package static let packHeader = headerSlackBytes + 9 + PackFormat.entryCountMax * PackEntry.encodedBytes

    /// A whole pack (`data/<xx>/<id>`), read whole only by verify, garbage collection and repair:
    /// ``PackFormat/packObjectBytesMax``.
    package static let pack = Int(PackFormat.packObjectBytesMax)
}
