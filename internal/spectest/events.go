package spectest

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

var commandEventKinds = map[string]bool{
	"commandStartedEvent": true, "commandSucceededEvent": true, "commandFailedEvent": true,
}

func (st *testState) checkEvents(ee ExpectedEventsForClient) error {
	c, err := getEntity[*clientEntity](st.entities, ee.Client, "client")
	if err != nil {
		return err
	}
	eventType := ee.EventType
	if eventType == "" {
		eventType = "command"
	}
	if eventType != "command" && eventType != "cmap" {
		return skipf("%s event expectations", eventType)
	}
	c.mu.Lock()
	var actual []recordedEvent
	for _, e := range c.events {
		if commandEventKinds[e.kind] == (eventType == "command") {
			actual = append(actual, e)
		}
	}
	c.mu.Unlock()

	if len(actual) < len(ee.Events) || (!ee.IgnoreExtraEvents && len(actual) != len(ee.Events)) {
		return fmt.Errorf("expected %d events, observed %d: %s", len(ee.Events), len(actual), summarizeEvents(actual))
	}
	for i, exp := range ee.Events {
		if err := st.matchEvent(exp, actual[i]); err != nil {
			return fmt.Errorf("event %d: %w (observed: %s)", i, err, summarizeEvents(actual))
		}
	}
	return nil
}

func summarizeEvents(evs []recordedEvent) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		if e.commandName != "" {
			parts[i] = e.kind + "(" + e.commandName + ")"
		} else {
			parts[i] = e.kind
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func rawToD(r bson.Raw) (bson.D, error) {
	var d bson.D
	if len(r) == 0 {
		return bson.D{}, nil
	}
	if err := bson.Unmarshal(r, &d); err != nil {
		return nil, fmt.Errorf("decode event document: %w", err)
	}
	return d, nil
}

func (st *testState) matchEvent(exp bson.D, act recordedEvent) error {
	if len(exp) != 1 {
		return fmt.Errorf("expected event must have exactly one key")
	}
	kind := exp[0].Key
	if kind != act.kind {
		return fmt.Errorf("expected %s, observed %s(%s)", kind, act.kind, act.commandName)
	}
	spec, ok := exp[0].Value.(bson.D)
	if !ok {
		return fmt.Errorf("%s is not a document", kind)
	}
	for _, f := range spec {
		switch f.Key {
		case "command", "reply":
			raw := act.command
			if f.Key == "reply" {
				raw = act.reply
			}
			doc, err := rawToD(raw)
			if err != nil {
				return err
			}
			if err := st.matcher.Match(f.Value, doc, true); err != nil {
				return fmt.Errorf("%s %s: %w", kind, f.Key, err)
			}
		case "commandName":
			if f.Value != act.commandName {
				return fmt.Errorf("%s: expected commandName %s, observed %q", kind, describe(f.Value), act.commandName)
			}
		case "databaseName":
			if f.Value != act.databaseName {
				return fmt.Errorf("%s(%s): expected databaseName %s, observed %q", kind, act.commandName, describe(f.Value), act.databaseName)
			}
		case "hasServiceId":
			want, _ := f.Value.(bool)
			has := act.serviceID != nil && !act.serviceID.IsZero()
			if want != has {
				return fmt.Errorf("%s: hasServiceId expected %v", kind, want)
			}
		case "hasServerConnectionId":
			want, _ := f.Value.(bool)
			has := act.serverConnID != nil && *act.serverConnID > 0
			if want != has {
				return fmt.Errorf("%s: hasServerConnectionId expected %v", kind, want)
			}
		case "reason":
			if f.Value != act.reason {
				return fmt.Errorf("%s: expected reason %s, observed %q", kind, describe(f.Value), act.reason)
			}
		case "interruptInUseConnections":
			return skipf("poolClearedEvent interruptInUseConnections")
		default:
			return fmt.Errorf("%s: unsupported event field %q", kind, f.Key)
		}
	}
	return nil
}
