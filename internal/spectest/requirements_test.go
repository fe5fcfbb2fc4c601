package spectest

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		err  bool
	}{
		{"4.0.10", Version{4, 0, 10}, false},
		{"3.6", Version{3, 6, 0}, false},
		{"7", Version{7, 0, 0}, false},
		{"4.9.0-alpha4-271-g7d5cf02", Version{4, 9, 0}, false},
		{"6.1.99", Version{6, 1, 99}, false},
		{"1.2.3.4", Version{1, 2, 3}, false},
		{"", Version{}, true},
		{"x.1", Version{}, true},
	}
	for _, tc := range tests {
		got, err := ParseVersion(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
	a, _ := ParseVersion("4.0.10")
	b, _ := ParseVersion("4.0.9")
	c, _ := ParseVersion("4.2")
	if a.Compare(b) != 1 || a.Compare(c) != -1 || a.Compare(a) != 0 {
		t.Errorf("version ordering wrong")
	}
}

func TestCheckSchemaVersion(t *testing.T) {
	for _, ok := range []string{"1.0", "1.13", "1.23", "1"} {
		if err := CheckSchemaVersion(ok); err != nil {
			t.Errorf("CheckSchemaVersion(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"0.1", "1.24", "2.0", "abc"} {
		if err := CheckSchemaVersion(bad); err == nil {
			t.Errorf("CheckSchemaVersion(%q) accepted", bad)
		}
	}
}

func TestRequirementCheck(t *testing.T) {
	yes, no := true, false
	info := ServerInfo{
		Version:    Version{7, 0, 2},
		Topology:   TopologySingle,
		Parameters: bson.D{{Key: "enableTestCommands", Value: int32(1)}, {Key: "featureX", Value: true}},
	}
	tests := []struct {
		name string
		req  Requirement
		why  string // "" = satisfied; otherwise a substring of the reason
	}{
		{"empty", Requirement{}, ""},
		{"min ok", Requirement{MinServerVersion: "4.4"}, ""},
		{"min equal", Requirement{MinServerVersion: "7.0.2"}, ""},
		{"min too high", Requirement{MinServerVersion: "7.0.3"}, ">= 7.0.3"},
		{"max ok", Requirement{MaxServerVersion: "7.0.99"}, ""},
		{"max too low", Requirement{MaxServerVersion: "6.1.99"}, "<= 6.1.99"},
		{"topology single", Requirement{Topologies: []string{"single", "replicaset"}}, ""},
		{"topology replicaset", Requirement{Topologies: []string{"replicaset"}}, "requires topology replicaset"},
		{"serverless forbid", Requirement{Serverless: "forbid"}, ""},
		{"serverless require", Requirement{Serverless: "require"}, "serverless"},
		{"auth false", Requirement{Auth: &no}, ""},
		{"auth true", Requirement{Auth: &yes}, "requires auth"},
		{"csfle", Requirement{CSFLE: true}, "csfle"},
		{"csfle false", Requirement{CSFLE: false}, ""},
		{"param numeric flexible", Requirement{ServerParameters: bson.D{{Key: "enableTestCommands", Value: 1.0}}}, ""},
		{"param bool", Requirement{ServerParameters: bson.D{{Key: "featureX", Value: true}}}, ""},
		{"param differs", Requirement{ServerParameters: bson.D{{Key: "featureX", Value: false}}}, "featureX"},
		{"param missing", Requirement{ServerParameters: bson.D{{Key: "nope", Value: true}}}, "does not report"},
		{"auth mechanism", Requirement{AuthMechanism: "MONGODB-OIDC"}, "MONGODB-OIDC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			why := tc.req.Check(info)
			if tc.why == "" && why != "" {
				t.Fatalf("unexpectedly unsatisfied: %s", why)
			}
			if tc.why != "" && !strings.Contains(why, tc.why) {
				t.Fatalf("reason %q does not contain %q", why, tc.why)
			}
		})
	}
	sharded := ServerInfo{Version: Version{7, 0, 0}, Topology: TopologyShardedReplicaSet}
	if why := (Requirement{Topologies: []string{"sharded"}}).Check(sharded); why != "" {
		t.Errorf("sharded should accept sharded-replicaset: %s", why)
	}
	if why := CheckAny([]Requirement{{MinServerVersion: "8.0"}, {Topologies: []string{"single"}}}, info); why != "" {
		t.Errorf("CheckAny should pass when one requirement holds: %s", why)
	}
	if why := CheckAny([]Requirement{{MinServerVersion: "8.0"}, {Topologies: []string{"sharded"}}}, info); why == "" {
		t.Errorf("CheckAny should fail when none holds")
	}
}

func TestServerReplies(t *testing.T) {
	tests := []struct {
		hello string
		want  string
	}{
		{`{"isWritablePrimary": true}`, TopologySingle},
		{`{"isWritablePrimary": true, "setName": "rs0"}`, TopologyReplicaSet},
		{`{"isWritablePrimary": true, "msg": "isdbgrid"}`, TopologySharded},
		{`{"isWritablePrimary": true, "serviceId": {"$oid": "0123456789abcdef01234567"}}`, TopologyLoadBalanced},
	}
	for _, tc := range tests {
		if got := TopologyFromHello(ej(t, tc.hello)); got != tc.want {
			t.Errorf("TopologyFromHello(%s) = %s, want %s", tc.hello, got, tc.want)
		}
	}
	v, err := VersionFromBuildInfo(ej(t, `{"version": "7.0.0-rc1", "versionArray": [7, 0, 4, 0]}`))
	if err != nil || v != (Version{7, 0, 4}) {
		t.Errorf("VersionFromBuildInfo with versionArray = %v, %v", v, err)
	}
	v, err = VersionFromBuildInfo(ej(t, `{"version": "6.0.5"}`))
	if err != nil || v != (Version{6, 0, 5}) {
		t.Errorf("VersionFromBuildInfo with version = %v, %v", v, err)
	}
	if _, err := VersionFromBuildInfo(bson.D{}); err == nil {
		t.Errorf("VersionFromBuildInfo({}) should fail")
	}
}
