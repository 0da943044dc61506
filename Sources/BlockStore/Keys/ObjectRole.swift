/// What a sealed object is and where it belongs, bound into its seal.
///
/// Every object a store seals names its role, and its name where it has one, in the AEAD's
/// associated data (in unencrypted stores: in the keyless checksum of metadata), so one valid
/// sealed object cannot stand in for another: a pack header copied under another pack's name, a
/// root placed as an index object, or a sealed chunk of ID X served where ID Y is expected fails
/// to open. The bytes are frozen for format version 2 (see <doc:StoreFormat>):
///
/// | role | associated data |
/// |---|---|
/// | config | `"blocksnap.v2.config"` |
/// | index object | `"blocksnap.v2.index"` (the name is the SHA-256 of the object, checked on read) |
/// | pack header | `"blocksnap.v2.pack-header:"` ‖ pack ID (32 bytes) |
/// | sealed chunk | `"blocksnap.v2.chunk:"` ‖ kind (1 byte) ‖ chunk ID (32 bytes) |
/// | root | `"blocksnap.v2.root:"` ‖ name (UTF-8) |
///
/// No prefix is a prefix of another and every suffix has a fixed length or ends the bytes, so
/// two roles never share associated data.
package enum ObjectRole: Sendable, Equatable {
    /// The store's `config`.
    case config
    /// An index object (`index/<sha256>`).
    case indexObject
    /// The header of the pack named `packID` (`data/<2 hex>/<pack id>`).
    case packHeader(packID: ChunkID)
    /// A chunk's stored form inside a pack. Bound to its ID and kind, not to its pack, so garbage
    /// collection can copy sealed chunks unchanged into new packs.
    case chunk(id: ChunkID, kind: ChunkKind)
    /// The root named `name` (`roots/<name>`).
    case root(name: String)

    /// The associated data of this role: what the seal binds the object to.
    package var associatedData: [UInt8] {
        var w = ByteWriter(capacity: 64)
        switch self {
        case .config:
            w.raw("blocksnap.v2.config".utf8)
        case .indexObject:
            w.raw("blocksnap.v2.index".utf8)
        case .packHeader(let packID):
            w.raw("blocksnap.v2.pack-header:".utf8)
            w.id(packID)
        case .chunk(let id, let kind):
            w.raw("blocksnap.v2.chunk:".utf8)
            w.u8(kind.rawValue)
            w.id(id)
        case .root(let name):
            w.raw("blocksnap.v2.root:".utf8)
            w.raw(name.utf8)
        }
        return w.bytes
    }
}
