package destinations

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Config is a destination as a connector opens it.
type Config struct {
	Name   string         // the destination's name in the project
	Region string         // the destination's region (Spec.RegionOf)
	Values map[string]any // `config:` with ${ENV} replaced and the spec's defaults applied
	// HTTP is the client to send with; the sync engine gives one with its
	// timeouts. Tests point it, through the config's endpoint key, at a fake.
	HTTP *http.Client
}

// String is a string config value ("" when absent).
func (c Config) String(key string) string {
	v, ok := c.Values[key]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// Bool is a boolean config value (false when absent).
func (c Config) Bool(key string) bool {
	b, _ := c.Values[key].(bool)
	return b
}

// Map is a map-of-strings config value (nil when absent).
func (c Config) Map(key string) map[string]string {
	m, _ := c.Values[key].(map[string]any)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Opener makes a Destination from its config, checked against the spec.
type Opener func(cfg Config) (Destination, error)

type entry struct {
	spec Spec
	open Opener
}

var (
	mu       sync.RWMutex
	registry = map[string]entry{}
)

// Register makes a connector available by its spec's type; connector
// packages call it from init().
func Register(s Spec, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[s.Type]; dup {
		panic("destinations: " + s.Type + " registered twice")
	}
	registry[s.Type] = entry{s, open}
}

// Lookup returns a registered connector's spec.
func Lookup(typ string) (*Spec, error) {
	mu.RLock()
	defer mu.RUnlock()
	e, ok := registry[typ]
	if !ok {
		return nil, fmt.Errorf("unknown destination type %q (known: %s)", typ, strings.Join(typesLocked(), ", "))
	}
	s := e.spec
	return &s, nil
}

// Types lists the registered connector types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	return typesLocked()
}

func typesLocked() []string {
	var n []string
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Specs lists the registered connectors' specs, sorted by type.
func Specs() []Spec {
	var out []Spec
	for _, t := range Types() {
		s, _ := Lookup(t)
		out = append(out, *s)
	}
	return out
}

// Open checks a destination's config against its connector's spec, applies
// the defaults and opens it. An invalid config is an error listing every
// problem.
func Open(typ string, cfg Config) (Destination, *Spec, error) {
	mu.RLock()
	e, ok := registry[typ]
	mu.RUnlock()
	if !ok {
		_, err := Lookup(typ)
		return nil, nil, err
	}
	s := e.spec
	if ps := s.CheckConfig(cfg.Region, cfg.Values); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.Error()
		}
		return nil, nil, fmt.Errorf("destination %s: %s", cfg.Name, strings.Join(msgs, "; "))
	}
	values := make(map[string]any, len(s.Config))
	for _, f := range s.Config {
		if f.Default != nil {
			values[f.Name] = f.Default
		}
	}
	for k, v := range cfg.Values {
		if v != nil && v != "" {
			values[k] = v
		}
	}
	cfg.Values = values
	cfg.Region = s.RegionOf(cfg.Region, values)
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	d, err := e.open(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("destination %s: %w", cfg.Name, err)
	}
	return d, &s, nil
}
