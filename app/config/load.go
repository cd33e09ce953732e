package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path (skipped when path is empty, or when it is
// the implicit default and does not exist), then applies environment overrides
// from env (usually os.Environ()), then validates. Errors name the key.
func Load(path string, explicit bool, env []string) (Config, error) {
	cfg := Defaults()
	fields := fieldsOf(&cfg)

	if path != "" {
		raw, err := os.ReadFile(path)
		switch {
		case err == nil:
			values, err := flattenYAML(raw)
			if err != nil {
				return cfg, fmt.Errorf("config: read %s: %w", path, err)
			}
			keys := make([]string, 0, len(values))
			for k := range values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				f, ok := fields[k]
				if !ok {
					return cfg, &FieldError{Key: k, Source: "config file " + path, Reason: "unknown key"}
				}
				if err := setField(f, values[k]); err != nil {
					return cfg, &FieldError{Key: k, Source: "config file " + path, Reason: err.Error()}
				}
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
			// The default config.yaml is optional: make run works with no file.
		default:
			return cfg, fmt.Errorf("config: read %s: %w", path, err)
		}
	}

	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	// DATABASE_URL is the conventional name; LICENSOR_DATABASE_URL wins.
	if v := envMap["DATABASE_URL"]; v != "" {
		if err := setField(fields["database.url"], v); err != nil {
			return cfg, &FieldError{Key: "database.url", Source: "environment DATABASE_URL", Reason: err.Error()}
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := EnvName(k)
		v, ok := envMap[name]
		if !ok {
			continue
		}
		if err := setField(fields[k], v); err != nil {
			return cfg, &FieldError{Key: k, Source: "environment " + name, Reason: err.Error()}
		}
	}

	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return "LICENSOR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys lists every configuration key, sorted; config.example.yaml is checked
// against it in tests so the documentation cannot drift.
func Keys() []string {
	cfg := Defaults()
	fields := fieldsOf(&cfg)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldsOf maps each key tag to its settable field.
func fieldsOf(cfg *Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := v.Field(i)
			if key := t.Field(i).Tag.Get("key"); key != "" {
				out[key] = f
				continue
			}
			if f.Kind() == reflect.Struct {
				walk(f)
			}
		}
	}
	walk(reflect.ValueOf(cfg).Elem())
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

// setField parses s into the field. Lists are comma separated.
func setField(f reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	if f.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", s)
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		f.SetBool(b)
	case reflect.Slice:
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// flattenYAML turns nested mappings into dotted keys with string values;
// sequences become comma-separated lists.
func flattenYAML(raw []byte) (map[string]string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		switch t := v.(type) {
		case map[string]any:
			for k, sub := range t {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				if err := walk(key, sub); err != nil {
					return err
				}
			}
		case []any:
			parts := make([]string, 0, len(t))
			for _, item := range t {
				parts = append(parts, fmt.Sprint(item))
			}
			out[prefix] = strings.Join(parts, ",")
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = fmt.Sprint(t)
		}
		return nil
	}
	if err := walk("", doc); err != nil {
		return nil, err
	}
	return out, nil
}

func validCIDROrIP(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	_, _, err := net.ParseCIDR(s)
	return err == nil
}
