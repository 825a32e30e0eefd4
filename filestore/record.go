package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/sesamego/sesame/store"
)

// A record file is, in order:
//
//	magic      8 bytes, "sesame\x00\x01" (format version 1)
//	created    int64 Unix seconds, uint32 nanoseconds (big endian)
//	last seen  the same
//	expires    the same
//	user ID    uvarint length, bytes
//	IP         uvarint length, bytes
//	user agent uvarint length, bytes
//	values     uvarint length, the bytes of store.EncodeValues
//	checksum   uint32 CRC-32C of everything before it (big endian)
//
// Metadata strings are kept byte for byte (a user agent need not be UTF-8),
// the checksum catches a torn or damaged file, and the metadata can be read
// without decoding the values.
const magic = "sesame\x00\x01"

// minRecordLen is the length of a record file with empty strings and values.
const minRecordLen = len(magic) + 3*12 + 4*1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record file that cannot be decoded.
var errCorrupt = errors.New("corrupt record file")

// encodeRecord returns the file contents for rec.
func encodeRecord(rec store.Record, threshold int) ([]byte, error) {
	values, err := store.EncodeValues(rec.Values, threshold)
	if err != nil {
		return nil, err
	}
	strs := [3]string{rec.UserID, rec.IP, rec.UserAgent}
	n := minRecordLen + len(values) + 4*binary.MaxVarintLen64
	for _, s := range strs {
		n += len(s)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, magic...)
	for _, t := range [3]time.Time{rec.Created, rec.LastSeen, rec.Expires} {
		buf = binary.BigEndian.AppendUint64(buf, uint64(t.Unix()))
		buf = binary.BigEndian.AppendUint32(buf, uint32(t.Nanosecond()))
	}
	for _, s := range strs {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	buf = binary.AppendUvarint(buf, uint64(len(values)))
	buf = append(buf, values...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli)), nil
}

// decodeRecord parses a record file. With values false it skips decoding the
// values (Record.Values is nil); otherwise it decodes them with limit as the
// size limit. It never panics: anything malformed is an error wrapping
// errCorrupt.
func decodeRecord(data []byte, values bool, limit int) (store.Record, error) {
	var rec store.Record
	if len(data) < minRecordLen || string(data[:len(magic)]) != magic {
		return rec, fmt.Errorf("%w: bad header", errCorrupt)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return rec, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	p := body[len(magic):]
	for _, t := range [3]*time.Time{&rec.Created, &rec.LastSeen, &rec.Expires} {
		sec, nsec := int64(binary.BigEndian.Uint64(p)), binary.BigEndian.Uint32(p[8:])
		if nsec >= 1e9 {
			return rec, fmt.Errorf("%w: bad time", errCorrupt)
		}
		*t = time.Unix(sec, int64(nsec))
		p = p[12:]
	}
	var fields [4][]byte
	for i := range fields {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return rec, fmt.Errorf("%w: bad length", errCorrupt)
		}
		fields[i], p = p[w:w+int(n)], p[w+int(n):]
	}
	if len(p) != 0 {
		return rec, fmt.Errorf("%w: trailing bytes", errCorrupt)
	}
	rec.UserID, rec.IP, rec.UserAgent = string(fields[0]), string(fields[1]), string(fields[2])
	if values {
		v, err := store.DecodeValues(fields[3], limit)
		if err != nil {
			return store.Record{}, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		rec.Values = v
	}
	return rec, nil
}
