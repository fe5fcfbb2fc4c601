package spectest

import (
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Version is a server or schema version: major, minor, patch.
type Version [3]int

// ParseVersion parses "major[.minor[.patch]]"; anything after the patch
// number (e.g. "-rc1" or a fourth component) is discarded, as the unified
// format requires.
func ParseVersion(s string) (Version, error) {
	var v Version
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if s == "" || len(parts) == 0 {
		return v, fmt.Errorf("empty version string")
	}
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return v, fmt.Errorf("malformed version %q", s)
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1.
func (v Version) Compare(o Version) int {
	for i := 0; i < 3; i++ {
		if v[i] != o[i] {
			if v[i] < o[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// Topology names as runOnRequirements spell them.
const (
	TopologySingle            = "single"
	TopologyReplicaSet        = "replicaset"
	TopologySharded           = "sharded"
	TopologyShardedReplicaSet = "sharded-replicaset"
	TopologyLoadBalanced      = "load-balanced"
)

// ServerInfo is what the server reports about itself, used to evaluate
// runOnRequirements.
type ServerInfo struct {
	Version  Version
	Topology string
	// Parameters is the getParameter: "*" reply (nil if it failed).
	Parameters bson.D
	// Auth says whether the runner connects with authentication.
	Auth bool
	// AuthMechanisms lists the server's authenticationMechanisms.
	AuthMechanisms []string
	// Serverless says whether the deployment is Atlas Serverless.
	Serverless bool
	// CSFLE says whether client-side encryption is available (never, for
	// this runner: the driver is built without libmongocrypt).
	CSFLE bool
}

// Requirement is one runOnRequirement object.
type Requirement struct {
	MinServerVersion string   `bson:"minServerVersion,omitempty"`
	MaxServerVersion string   `bson:"maxServerVersion,omitempty"`
	Topologies       []string `bson:"topologies,omitempty"`
	Serverless       string   `bson:"serverless,omitempty"`
	ServerParameters bson.D   `bson:"serverParameters,omitempty"`
	Auth             *bool    `bson:"auth,omitempty"`
	AuthMechanism    string   `bson:"authMechanism,omitempty"`
	CSFLE            any      `bson:"csfle,omitempty"`
}

// Check returns "" if info satisfies r, otherwise the reason it does not.
func (r Requirement) Check(info ServerInfo) string {
	if r.MinServerVersion != "" {
		min, err := ParseVersion(r.MinServerVersion)
		if err != nil {
			return "bad minServerVersion: " + err.Error()
		}
		if info.Version.Compare(min) < 0 {
			return fmt.Sprintf("requires server version >= %s (server reports %s)", r.MinServerVersion, info.Version)
		}
	}
	if r.MaxServerVersion != "" {
		max, err := ParseVersion(r.MaxServerVersion)
		if err != nil {
			return "bad maxServerVersion: " + err.Error()
		}
		if info.Version.Compare(max) > 0 {
			return fmt.Sprintf("requires server version <= %s (server reports %s)", r.MaxServerVersion, info.Version)
		}
	}
	if len(r.Topologies) > 0 {
		ok := false
		for _, t := range r.Topologies {
			if t == info.Topology || (t == TopologySharded && info.Topology == TopologyShardedReplicaSet) {
				ok = true
			}
		}
		if !ok {
			return fmt.Sprintf("requires topology %s (server is %s)", strings.Join(r.Topologies, " or "), info.Topology)
		}
	}
	switch r.Serverless {
	case "require":
		if !info.Serverless {
			return "requires serverless"
		}
	case "forbid":
		if info.Serverless {
			return "forbids serverless"
		}
	case "", "allow":
	default:
		return fmt.Sprintf("bad serverless value %q", r.Serverless)
	}
	if r.Auth != nil && *r.Auth != info.Auth {
		if *r.Auth {
			return "requires auth"
		}
		return "requires no auth"
	}
	if r.AuthMechanism != "" {
		found := false
		for _, m := range info.AuthMechanisms {
			if strings.EqualFold(m, r.AuthMechanism) {
				found = true
			}
		}
		if !found {
			return "requires auth mechanism " + r.AuthMechanism
		}
	}
	if r.CSFLE != nil {
		want := true
		if b, ok := r.CSFLE.(bool); ok {
			want = b
		}
		if want && !info.CSFLE {
			return "requires csfle (client-side encryption is not available)"
		}
		if !want && info.CSFLE {
			return "requires no csfle"
		}
	}
	for _, p := range r.ServerParameters {
		got := lookup(info.Parameters, p.Key)
		if got == Missing {
			return fmt.Sprintf("requires server parameter %s=%s (server does not report it)", p.Key, describe(p.Value))
		}
		if !ValuesEqual(p.Value, got, true) {
			return fmt.Sprintf("requires server parameter %s=%s (server has %s)", p.Key, describe(p.Value), describe(got))
		}
	}
	return ""
}

// CheckAny returns "" if reqs is empty or any requirement is satisfied,
// otherwise the reasons of all of them, joined.
func CheckAny(reqs []Requirement, info ServerInfo) string {
	if len(reqs) == 0 {
		return ""
	}
	var reasons []string
	for _, r := range reqs {
		why := r.Check(info)
		if why == "" {
			return ""
		}
		reasons = append(reasons, why)
	}
	return strings.Join(dedupe(reasons), "; or ")
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// TopologyFromHello derives the runOnRequirements topology from a hello
// reply.
func TopologyFromHello(hello bson.D) string {
	if v, ok := lookup(hello, "serviceId").(bson.ObjectID); ok && !v.IsZero() {
		return TopologyLoadBalanced
	}
	if msg, _ := lookup(hello, "msg").(string); msg == "isdbgrid" {
		return TopologySharded
	}
	if _, ok := lookup(hello, "setName").(string); ok {
		return TopologyReplicaSet
	}
	return TopologySingle
}

// VersionFromBuildInfo reads versionArray (falling back to version) from a
// buildInfo reply.
func VersionFromBuildInfo(bi bson.D) (Version, error) {
	if arr, ok := lookup(bi, "versionArray").(bson.A); ok && len(arr) >= 3 {
		var v Version
		for i := 0; i < 3; i++ {
			n, ok := toInt(arr[i])
			if !ok {
				if f, isF := arr[i].(float64); isF {
					n, ok = int64(f), true
				}
			}
			if !ok {
				return v, fmt.Errorf("buildInfo versionArray[%d] is %s", i, describe(arr[i]))
			}
			v[i] = int(n)
		}
		return v, nil
	}
	if s, ok := lookup(bi, "version").(string); ok {
		return ParseVersion(s)
	}
	return Version{}, fmt.Errorf("buildInfo has no versionArray or version")
}
