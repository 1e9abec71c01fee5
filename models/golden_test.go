package models

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// TestGolden loads and validates every project under testdata/<case>/ and
// compares the errors with stderr.txt, or the decoded project with ok.txt.
// env.txt (NAME=value lines) sets environment variables first.
func TestGolden(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("testdata", d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			setEnv(t, filepath.Join(dir, "env.txt"))
			got, file := runCase(dir)
			path := filepath.Join(dir, file)
			if *update {
				for _, f := range []string{"ok.txt", "stderr.txt"} {
					_ = os.Remove(filepath.Join(dir, f))
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%s: %v; got:\n%s", path, err, got)
			}
			if got != string(want) {
				t.Errorf("%s differs (go test ./models -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

func setEnv(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			t.Setenv(k, v)
		}
	}
}

// runCase is the golden text of one case and the file that holds it.
func runCase(dir string) (string, string) {
	p, err := Load(dir)
	if err == nil {
		err = Validate(p)
	}
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			return "not an ErrorList: " + err.Error() + "\n", "stderr.txt"
		}
		return err.Error() + "\n", "stderr.txt"
	}
	var b strings.Builder
	dump(&b, "", reflect.ValueOf(p))
	if order, err := p.TraitOrder(); err == nil {
		fmt.Fprintf(&b, "trait order:")
		for _, t := range order {
			fmt.Fprintf(&b, " %s", t.Name)
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "segment order:")
	for _, s := range p.SegmentOrder() {
		fmt.Fprintf(&b, " %s", s.Name)
	}
	fmt.Fprintln(&b)
	return b.String(), "ok.txt"
}

// dump writes every set value of v as "path = value", and where each
// definition stands as "path @ file:line:col".
func dump(b *strings.Builder, path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if p, ok := v.Interface().(positioned); ok {
			fmt.Fprintf(b, "%s @ %s\n", path, p.position())
		}
		if e := v.Elem(); e.Kind() != reflect.Struct {
			fmt.Fprintf(b, "%s = %#v\n", path, e.Interface())
			return
		}
		dump(b, path, v.Elem())
	case reflect.Struct:
		if v.Type() == durationType {
			if d := v.Interface().(Duration); d.Set() {
				fmt.Fprintf(b, "%s = %s (%s)\n", path, d.Text, d.D)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Type == posType {
				continue
			}
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				if f.Name == "Dir" {
					continue // absolute, differs per machine
				}
				name = strings.ToLower(f.Name)
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			dump(b, p, v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			dump(b, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			dump(b, path+"."+k.String(), v.MapIndex(k))
		}
	case reflect.Interface:
		if !v.IsNil() {
			e := v.Elem()
			if e.Kind() == reflect.Slice || e.Kind() == reflect.Map {
				dump(b, path, e)
				return
			}
			fmt.Fprintf(b, "%s = %T %#v\n", path, e.Interface(), e.Interface())
		}
	default:
		if !v.IsZero() {
			fmt.Fprintf(b, "%s = %#v\n", path, v.Interface())
		}
	}
}
