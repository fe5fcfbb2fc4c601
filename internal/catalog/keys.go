package catalog

import (
	"encoding/binary"

	"github.com/cairndb/cairn/internal/index"
	"github.com/cairndb/cairn/internal/storage"
)

// Key layout. Every key starts with a one-byte tag:
//
//	tagSeq  "collID"                          -> next collection id (8 bytes)
//	tagMeta db 0x00 coll                      -> collection metadata (BSON)
//	tagRec  collID(8) enc(_id)                -> the document (BSON)
//	tagIdx  collID(8) indexID(4) enc(key...)  -> enc(_id) (unique indexes)
//	tagIdx  collID(8) indexID(4) enc(key...) enc(_id) -> empty (others)
//	tagStat collID(8)                         -> count(8) size(8)
//	tagMultikey collID(8) indexID(4)          -> 0x01 once the index is multikey
//	tagView db 0x00 name                      -> view definition (BSON; views.go)
//	tagRecordIDs collID(8)                    -> next record id(8) low-water mark(8)
//
// Capped and time series collections key their records by record id
// instead (tagRec collID(8) rid(8)), and index entries point at rid(8)
// rather than enc(_id); see recordid.go.
//
// enc is the order-preserving encoding of internal/index.
const (
	tagSeq  byte = 0x01
	tagMeta byte = 0x02
	tagRec  byte = 0x03
	tagIdx  byte = 0x04
	tagStat byte = 0x05
)

func seqKey() []byte { return []byte{tagSeq, 'c', 'o', 'l', 'l', 'I', 'D'} }

func metaKey(db, coll string) []byte {
	k := make([]byte, 0, 2+len(db)+len(coll))
	k = append(k, tagMeta)
	k = append(k, db...)
	k = append(k, 0)
	return append(k, coll...)
}

func metaDBPrefix(db string) []byte {
	k := append([]byte{tagMeta}, db...)
	return append(k, 0)
}

func collPrefix(tag byte, id uint64) []byte {
	k := make([]byte, 9, 32)
	k[0] = tag
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func recPrefix(id uint64) []byte { return collPrefix(tagRec, id) }

func recKey(id uint64, docID any) []byte {
	return index.AppendValue(recPrefix(id), docID, false)
}

func idxPrefix(collID uint64, ixID uint32) []byte {
	k := collPrefix(tagIdx, collID)
	return binary.BigEndian.AppendUint32(k, ixID)
}

func statKey(id uint64) []byte { return collPrefix(tagStat, id) }

func prefixRange(p []byte) (lower, upper []byte) { return p, storage.PrefixEnd(p) }
