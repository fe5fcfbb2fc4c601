// Package wire implements the parts of the MongoDB wire protocol that Cairn
// speaks: the 16-byte message header, OP_MSG (with kind-0 body and kind-1
// document-sequence sections and optional CRC-32C checksums), the legacy
// OP_QUERY / OP_REPLY pair used by old handshakes, and OP_COMPRESSED with
// the snappy, zlib and zstd compressors.
//
// Everything read from the network is validated: message and section
// lengths, BSON document lengths and structure (bsoncore validation), flag
// bits and the 48,000,000-byte message size limit. A malformed frame yields
// an error, never a panic.
package wire
