import Foundation

@testable import BlockStore
@testable import PageRangeDiff

/// Targets for the objects of the store format: config, key file, index object, pack trailer
/// and header, root, sealed chunk, node and map node, lock record.
enum StoreObjectTargets {
    /// A plain store's crypto: metadata carries a keyless checksum, so the harness can seal
    /// any body (see ``FuzzInput``).
    static let crypto = ObjectCrypto.plain
    /// A store on memory whose instance methods decode roots and chunks.
    nonisolated(unsafe) static var store: ChunkStore!

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "config", summary: "the store's config object (BSCF)") { raw in
            guard let (sealBody, payload) = FuzzInput.split(raw) else { return }
            var bytes = payload
            if sealBody {
                bytes = StoreConfiguration.magic + [UInt8(StoreConfiguration.formatVersion), 0]
                bytes += (try? crypto.seal(payload, as: .config)) ?? []
            }
            _ = try? StoreConfiguration.decode(bytes, crypto: crypto, location: "fuzz")
        },
        FuzzTarget(name: "key-file", summary: "a key file's JSON (named by its hash)") { raw in
            let bytes = Array(raw)
            guard let key = ObjectKey("keys/" + ChunkHasher.sha256.dataID(bytes).hex) else { return }
            _ = try? KeyFile.decode(bytes, key: key)
        },
        FuzzTarget(name: "index", summary: "an index object (BSIX), named by its hash") { raw in
            guard let (sealBody, payload) = FuzzInput.split(raw) else { return }
            var bytes = payload
            if sealBody {
                bytes =
                    IndexFile.magic + [IndexFile.version, 0] + ((try? crypto.seal(payload, as: .indexObject)) ?? [])
            }
            guard let key = ObjectKey("index/" + ChunkHasher.sha256.dataID(bytes).hex) else { return }
            _ = try? IndexFile.decode(bytes, key: key, crypto: crypto)
        },
        FuzzTarget(name: "pack", summary: "a pack's trailer and header (BSPK, BSPH)") { raw in
            guard let (sealBody, payload) = FuzzInput.split(raw) else { return }
            let packID = ChunkID.zero
            var bytes = payload
            if sealBody, let sealed = try? crypto.seal(payload, as: .packHeader(packID: packID)) {
                // A chunk area as long as the header's first byte says (some entries fit it).
                let area = Int(payload.first ?? 0) * 256
                var trailer = ByteWriter(capacity: PackFormat.trailerBytes)
                trailer.u32(UInt32(sealed.count))
                trailer.raw(PackFormat.trailerMagic)
                trailer.u8(PackFormat.version)
                trailer.raw([0, 0, 0])
                bytes = [UInt8](repeating: 0, count: area) + sealed + trailer.bytes
            }
            _ = try? PackFormat.entries(ofPack: bytes, packID: packID, crypto: crypto, what: "fuzz pack")
        },
        FuzzTarget(name: "root", summary: "a root object (BSRT) named points/vm/p") { raw in
            guard let (sealBody, payload) = FuzzInput.split(raw) else { return }
            let name = "points/vm/p"
            var bytes = payload
            if sealBody {
                bytes = ChunkStore.rootMagic + [ChunkStore.rootVersion, 0]
                bytes += (try? crypto.seal(payload, as: .root(name: name))) ?? []
            }
            _ = try? store.decodeRoot(bytes, name: name)
        },
        FuzzTarget(name: "chunk", summary: "a sealed chunk: rawLength:u16 (kind in the top bit), then its stored form")
        { raw in
            guard raw.count >= 2 else { return }
            let head = UInt16(raw[0]) | UInt16(raw[1]) << 8
            let sealed = Array(raw.dropFirst(2))
            let location = ChunkLocation(
                packNumber: 0, offset: 0, length: UInt32(sealed.count), rawLength: UInt32(head & 0x7fff),
                kind: head & 0x8000 != 0 ? .node : .data)
            let output = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(location.rawLength), alignment: 16)
            defer { output.deallocate() }
            _ = try? store.decode(sealed: sealed, id: .zero, location: location, into: output)
        },
        FuzzTarget(name: "map-node", summary: "a node (BSND) read as a block-map node at every place") { raw in
            guard let node = try? StoreNode(decoding: raw) else { return }
            guard let map = try? MapNode(decoding: node, id: .zero) else { return }
            let geometry = map.rootGeometry ?? (try? BlockMapGeometry(diskSizeBytes: 1 << 40))
            guard let geometry else { return }
            for level in 0..<min(geometry.height, 4) {
                try? map.check(
                    level: level, isRoot: level == geometry.height - 1, geometry: geometry, firstBlock: 0, id: .zero)
            }
        },
        FuzzTarget(name: "lock", summary: "a store lock record's JSON") { raw in
            _ = StoreLockRecord.decode(Array(raw))
        },
    ]
}
