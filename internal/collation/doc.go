// Package collation implements MongoDB collations: parsing and validating
// the collation document ({locale, strength, caseLevel, ...}), locale-aware
// string comparison and sort keys, and a collation-aware version of
// bsonutil.Compare.
//
// Comparison is built on golang.org/x/text/collate (CLDR root collation
// plus tailorings for the locales x/text ships). MongoDB uses ICU 57.1, so
// results are exact for the common cases (strength 1-3, numeric ordering,
// backwards secondary, alternate "shifted" with maxVariable "punct") and
// approximate elsewhere. Known gaps relative to ICU:
//
//   - Locales without x/text tailoring data fall back to the root collation
//     (e.g. "am", "chr", "ga", "lkt" and most "@collation=" variants other
//     than de phonebook, es traditional, zh stroke/pinyin, fi/sv standard).
//   - caseLevel at strength 1/2 is emulated: after the base comparison ties,
//     the case (lower/upper) of each letter is compared in order.
//   - caseFirst "upper" is emulated by swapping the case of both operands at
//     the tertiary level; caseFirst "lower" behaves like "off".
//   - maxVariable "space" with alternate "shifted" is emulated by removing
//     white space before comparing with a non-ignorable collator.
//   - normalization is always on (x/text always works on NFD); the flag is
//     only echoed back in Spec.
//   - strength 5 (identical) breaks ties by comparing NFD code units.
//   - The collation "version" is reported as ICU's "57.1" for
//     compatibility, though the CLDR data differs (x/text uses CLDR 23).
//
// A Collation is immutable and safe for concurrent use; x/text collators
// are not, so each Collation keeps a pool of them.
package collation
