package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairndb/cairn/internal/storage"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxReported bounds the entries listed in each of ValidateResult's
// detail lists, so that a badly damaged collection still produces a reply
// that fits in a BSON document.
const maxReported = 100

// ValidateOptions tune Validate.
type ValidateOptions struct {
	// Full also re-validates every record's BSON encoding (the validate
	// command's full and checkBSONConformance options).
	Full bool
}

// IndexValidation is the per-index part of a ValidateResult.
type IndexValidation struct {
	Name  string
	Keys  int64 // entries found in the index
	Valid bool
}

// ValidateResult is the outcome of Validate, in the terms of MongoDB's
// validate command.
type ValidateResult struct {
	NS string
	// NRecords is the number of stored documents.
	NRecords int64
	// NInvalidDocuments counts records that cannot be decoded, fail BSON
	// validation (Full only) or are stored under a key that does not match
	// their _id.
	NInvalidDocuments int64
	// Indexes lists every index, in the collection's index order.
	Indexes []IndexValidation
	// ExtraIndexEntries are index entries no document accounts for;
	// MissingIndexEntries are entries a document needs but the index
	// lacks; CorruptRecords are the record ids of invalid documents. Each
	// list is truncated to 100 items (Errors says so).
	ExtraIndexEntries   []bson.D
	MissingIndexEntries []bson.D
	CorruptRecords      []any
	Warnings            []string
	Errors              []string
	// Valid is false when any error was found.
	Valid bool
}

func (r *ValidateResult) addError(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	r.Valid = false
}

// Validate checks that coll's documents, indexes and stored statistics
// agree:
//
//   - every record decodes (and, with Full, is valid BSON) and is stored
//     under the key of its own _id;
//   - every key a record computes for an index is present (with a unique
//     index's entry pointing back at that record);
//   - every index entry is accounted for by a record (checked by count:
//     when the entries present equal the entries expected and every
//     expected entry is present, there is no extra one; when the counts
//     differ, the extra entries are found and listed);
//   - no entries exist for indexes the collection no longer has;
//   - the stored document count and data size equal the real ones.
//
// Validate reads one consistent snapshot taken while no DDL is running,
// so it sees the collection's index set and data as of the same moment.
// It returns an error only if the storage engine fails; inconsistencies
// are reported in the result. A nil error with a collection that no
// longer exists reports an empty, valid result.
func (c *Catalog) Validate(ctx context.Context, db, name string, opts ValidateOptions) (*ValidateResult, error) {
	c.mu.RLock()
	coll := c.colls[db+"."+name]
	var snap storage.Snapshot
	var err error
	if coll != nil {
		snap, err = c.eng.Snapshot()
	}
	c.mu.RUnlock()
	res := &ValidateResult{NS: db + "." + name, Valid: true}
	if coll == nil {
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: validate %s: %w", res.NS, err)
	}
	defer snap.Close()
	v := &validator{ctx: ctx, r: snap, coll: coll, res: res, opts: opts,
		expected: make([]int64, len(coll.Indexes)), matched: make([]int64, len(coll.Indexes)),
		present: make([]int64, len(coll.Indexes))}
	if err := v.run(); err != nil {
		return nil, fmt.Errorf("catalog: validate %s: %w", res.NS, err)
	}
	return res, nil
}

type validator struct {
	ctx  context.Context
	r    storage.Reader
	coll *Collection
	res  *ValidateResult
	opts ValidateOptions

	// expected[i] counts the distinct entries records need in index i,
	// matched[i] those of them found intact, and present[i] the entries
	// found in the index. present[i] > matched[i] means extra entries.
	expected, matched, present []int64
	// expectedKeys, when non-nil for index i, maps the full keys the
	// records need to their values (second pass only, to name extra
	// entries).
	expectedKeys []map[string]string
}

func (v *validator) run() error {
	count, size, err := v.scanRecords(false)
	if err != nil {
		return err
	}
	if err := v.countIndexEntries(); err != nil {
		return err
	}
	// _id index: one entry per record (records are keyed by _id).
	// Record-id keyed collections store theirs like any other index.
	if !v.coll.meta.RecordIDs {
		v.expected[0] = v.res.NRecords
		v.matched[0] = v.res.NRecords
		v.present[0] = v.res.NRecords
	}

	var recount []int
	for i, ix := range v.coll.Indexes {
		if ix.IsID() && !v.coll.meta.RecordIDs {
			continue
		}
		if v.present[i] > v.matched[i] {
			recount = append(recount, i)
		}
	}
	if len(recount) > 0 {
		// Second pass: name the extra entries of the indexes with too many.
		v.expectedKeys = make([]map[string]string, len(v.coll.Indexes))
		for _, i := range recount {
			v.expectedKeys[i] = map[string]string{}
		}
		saved := *v.res
		if _, _, err := v.scanRecords(true); err != nil {
			return err
		}
		*v.res = saved
		for _, i := range recount {
			if err := v.findExtra(i); err != nil {
				return err
			}
		}
	}
	for i, ix := range v.coll.Indexes {
		iv := IndexValidation{Name: ix.Name, Keys: v.present[i], Valid: true}
		if v.present[i] != v.expected[i] {
			iv.Valid = false
			v.res.addError("index %s has %d entries but the collection's documents need %d", ix.Name, v.present[i], v.expected[i])
		}
		v.res.Indexes = append(v.res.Indexes, iv)
	}
	for _, e := range v.res.MissingIndexEntries {
		v.markInvalid(e)
	}
	for _, e := range v.res.ExtraIndexEntries {
		v.markInvalid(e)
	}
	stCount, stSize, err := readStats(v.r, v.coll.ID)
	if err != nil {
		v.res.addError("cannot read the collection's stored statistics: %v", err)
	} else {
		if stCount != count {
			v.res.addError("stored document count %d does not match the %d records found", stCount, count)
		}
		if stSize != size {
			v.res.addError("stored data size %d does not match the %d bytes of records found", stSize, size)
		}
	}
	for _, list := range []struct {
		name string
		n    int
	}{{"extraIndexEntries", len(v.res.ExtraIndexEntries)}, {"missingIndexEntries", len(v.res.MissingIndexEntries)}, {"corruptRecords", len(v.res.CorruptRecords)}} {
		if list.n >= maxReported {
			v.res.Warnings = append(v.res.Warnings, fmt.Sprintf("%s is truncated to %d entries", list.name, maxReported))
		}
	}
	return nil
}

func (v *validator) markInvalid(entry bson.D) {
	var name string
	for _, e := range entry {
		if e.Key == "indexName" {
			name, _ = e.Value.(string)
		}
	}
	for i := range v.res.Indexes {
		if v.res.Indexes[i].Name == name {
			v.res.Indexes[i].Valid = false
		}
	}
}

// scanRecords walks the records once, checking each and counting (or, on
// the second pass, collecting) the index entries it needs. It returns the
// record count and total size.
func (v *validator) scanRecords(collect bool) (count, size int64, err error) {
	lo, hi := prefixRange(recPrefix(v.coll.ID))
	it, err := v.r.Scan(lo, hi, false)
	if err != nil {
		return 0, 0, err
	}
	defer it.Close()
	for it.Next() {
		if err := v.ctx.Err(); err != nil {
			return 0, 0, err
		}
		key := append([]byte(nil), it.Key()...)
		raw := bson.Raw(append([]byte(nil), it.Value()...))
		count++
		size += int64(len(raw))
		v.res.NRecords++
		if !collect {
			v.checkRecord(key, raw)
		} else {
			v.collectRecord(key, raw)
		}
	}
	return count, size, it.Err()
}

func (v *validator) corrupt(key []byte, format string, args ...any) {
	v.res.NInvalidDocuments++
	v.res.addError(format, args...)
	if len(v.res.CorruptRecords) < maxReported {
		v.res.CorruptRecords = append(v.res.CorruptRecords, bson.Binary{Data: key[9:]})
	}
}

// decodeRecord decodes a record, reporting what is wrong with it.
func (v *validator) decodeRecord(key []byte, raw bson.Raw) (bson.D, bool) {
	if v.opts.Full {
		if err := raw.Validate(); err != nil {
			v.corrupt(key, "record %x is not valid BSON: %v", key[9:], err)
			return nil, false
		}
	}
	var doc bson.D
	if err := bson.Unmarshal(raw, &doc); err != nil {
		v.corrupt(key, "record %x cannot be decoded: %v", key[9:], err)
		return nil, false
	}
	if v.coll.meta.RecordIDs {
		if len(key) != 17 {
			v.corrupt(key, "record %x is stored under a malformed record id", key[9:])
			return nil, false
		}
	} else if !bytes.Equal(recKey(v.coll.ID, docID(doc)), key) {
		v.corrupt(key, "record %x is stored under a key that does not match its _id %v", key[9:], docID(doc))
		return nil, false
	}
	return doc, true
}

// recordEntries returns, per secondary index, the full keys and values doc
// needs.
func (v *validator) recordEntries(doc bson.D, encID []byte, fn func(i int, ix *Index, full, value []byte)) error {
	for i, ix := range v.coll.Indexes {
		if ix.IsID() && !v.coll.meta.RecordIDs {
			continue
		}
		keys, _, _, err := ix.entries(doc)
		if err != nil {
			return fmt.Errorf("index %s: %w", ix.Name, err)
		}
		prefix := idxPrefix(v.coll.ID, ix.ID)
		for _, k := range keys {
			full := append(append([]byte(nil), prefix...), k...)
			var value []byte
			if ix.Unique {
				value = encID
			} else {
				full = append(full, encID...)
			}
			fn(i, ix, full, value)
		}
	}
	return nil
}

func (v *validator) checkRecord(key []byte, raw bson.Raw) {
	doc, ok := v.decodeRecord(key, raw)
	if !ok {
		return
	}
	encID := key[9:]
	var getErr error
	err := v.recordEntries(doc, encID, func(i int, ix *Index, full, value []byte) {
		got, err := v.r.Get(full)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			v.expected[i]++
			v.missing(ix, full, doc, "missing")
		case err != nil:
			getErr = err
		case ix.Unique && !bytes.Equal(got, value):
			// The key belongs to another document: either a unique
			// violation or an entry pointing at the wrong record. Only
			// one document can own it, so it is not expected twice.
			v.missing(ix, full, doc, fmt.Sprintf("points at record %x", got))
		default:
			v.expected[i]++
			v.matched[i]++
		}
	})
	if err != nil {
		v.res.NInvalidDocuments++
		v.res.addError("document %v cannot be indexed: %v", docID(doc), err)
	}
	if getErr != nil {
		v.res.addError("reading index entry: %v", getErr)
	}
}

func (v *validator) missing(ix *Index, full []byte, doc bson.D, why string) {
	v.res.addError("document %v has no entry %x in index %s (%s)", docID(doc), full, ix.Name, why)
	if len(v.res.MissingIndexEntries) < maxReported {
		v.res.MissingIndexEntries = append(v.res.MissingIndexEntries, bson.D{
			{Key: "indexName", Value: ix.Name},
			{Key: "recordId", Value: docID(doc)},
			{Key: "indexKey", Value: bson.Binary{Data: full}},
		})
	}
}

func (v *validator) collectRecord(key []byte, raw bson.Raw) {
	var doc bson.D
	if err := bson.Unmarshal(raw, &doc); err != nil {
		return
	}
	_ = v.recordEntries(doc, key[9:], func(i int, ix *Index, full, value []byte) {
		if v.expectedKeys[i] != nil {
			v.expectedKeys[i][string(full)] = string(value)
		}
	})
}

// countIndexEntries counts the entries of every index of the collection
// and reports entries of indexes it does not have.
func (v *validator) countIndexEntries() error {
	byID := map[uint32]int{}
	for i, ix := range v.coll.Indexes {
		byID[ix.ID] = i
	}
	lo, hi := prefixRange(collPrefix(tagIdx, v.coll.ID))
	it, err := v.r.Scan(lo, hi, false)
	if err != nil {
		return err
	}
	defer it.Close()
	orphans := map[uint32]int64{}
	for it.Next() {
		k := it.Key()
		if len(k) < 13 {
			v.res.addError("malformed index key %x", k)
			continue
		}
		id := binary.BigEndian.Uint32(k[9:13])
		i, ok := byID[id]
		if !ok || (id == 0 && !v.coll.meta.RecordIDs) {
			orphans[id]++
			continue
		}
		v.present[i]++
	}
	if err := it.Err(); err != nil {
		return err
	}
	for id, n := range orphans {
		v.res.addError("%d index entries belong to index id %d, which the collection does not have", n, id)
	}
	return nil
}

// findExtra scans index i and lists the entries no record needs.
func (v *validator) findExtra(i int) error {
	ix := v.coll.Indexes[i]
	want := v.expectedKeys[i]
	lo, hi := prefixRange(idxPrefix(v.coll.ID, ix.ID))
	it, err := v.r.Scan(lo, hi, false)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if val, ok := want[string(it.Key())]; ok && val == string(it.Value()) {
			continue
		}
		v.res.addError("index %s has an entry %x that no document needs", ix.Name, it.Key())
		if len(v.res.ExtraIndexEntries) < maxReported {
			v.res.ExtraIndexEntries = append(v.res.ExtraIndexEntries, bson.D{
				{Key: "indexName", Value: ix.Name},
				{Key: "indexKey", Value: bson.Binary{Data: append([]byte(nil), it.Key()...)}},
			})
		}
	}
	return it.Err()
}
