package update

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPipelineUpdates(t *testing.T) {
	tests := []struct {
		name, doc, pipeline, want string
		modified                  bool
		code                      int32
	}{
		{name: "set with expression", doc: `{"_id": 1, "a": 1}`, pipeline: `[{"$set": {"b": {"$add": ["$a", 1]}}}]`, want: `{"_id": 1, "a": 1, "b": 2}`, modified: true},
		{name: "addFields literal unchanged", doc: `{"_id": 1, "a": 1}`, pipeline: `[{"$addFields": {"a": 1}}]`, want: `{"_id": 1, "a": 1}`},
		{name: "unset", doc: `{"_id": 1, "a": 1, "b": 2}`, pipeline: `[{"$unset": "a"}]`, want: `{"_id": 1, "b": 2}`, modified: true},
		{name: "two stages", doc: `{"_id": 1, "a": 1}`, pipeline: `[{"$set": {"b": "$a"}}, {"$unset": ["a"]}]`, want: `{"_id": 1, "b": 1}`, modified: true},
		{name: "replaceWith keeps _id", doc: `{"_id": 1, "a": {"x": 5}}`, pipeline: `[{"$replaceWith": "$a"}]`, want: `{"_id": 1, "x": 5}`, modified: true},
		{name: "project without _id keeps _id", doc: `{"_id": 1, "a": 1, "b": 2}`, pipeline: `[{"$project": {"_id": 0, "b": 1}}]`, want: `{"_id": 1, "b": 2}`, modified: true},
		{name: "replaceWith other _id", doc: `{"_id": 1}`, pipeline: `[{"$replaceWith": {"_id": 2}}]`, code: 66},
		{name: "stage not allowed", doc: `{"_id": 1}`, pipeline: `[{"$match": {}}]`, code: 72},
		{name: "unknown stage", doc: `{"_id": 1}`, pipeline: `[{"$nope": {}}]`, code: 40324},
		{name: "empty pipeline", doc: `{"_id": 1, "a": 1}`, pipeline: `[]`, want: `{"_id": 1, "a": 1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := extDoc(t, `{"p": `+tc.pipeline+`}`)
			spec, ok := wrapped[0].Value.(bson.A)
			if !ok {
				t.Fatalf("pipeline %s is not an array", tc.pipeline)
			}
			doc := extDoc(t, tc.doc)
			got, modified, err := run(spec, nil, doc, &ApplyContext{MatchPos: -1, Now: testNow})
			if tc.code != 0 {
				if err == nil {
					t.Fatalf("got %s, want error %d", fmtValue(got), tc.code)
				}
				checkErr(t, err, tc.code, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := extDoc(t, tc.want); !identical(got, want) {
				t.Fatalf("got  %s\nwant %s", fmtValue(got), fmtValue(want))
			}
			if modified != tc.modified {
				t.Fatalf("modified = %v, want %v", modified, tc.modified)
			}
		})
	}
}
