package jail

import (
	"reflect"
	"testing"
)

// fill sets every field reachable from v to a non-zero value: slices and
// maps get one element, pointers a value, recursively.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	}
}

// shared reports the path of a slice, map or pointer that a and b share.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() {
				if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := 0; i < a.Len(); i++ {
			if p := shared(a.Index(i), b.Index(i), path+"[i]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Pointer:
		if !a.IsNil() {
			if a.Pointer() == b.Pointer() {
				return path
			}
			return shared(a.Elem(), b.Elem(), "(*"+path+")")
		}
	}
	return ""
}

// TestSpecClone: a clone equals its spec and shares nothing with it, for
// every field of Spec (a field added later is covered: fill sets it).
func TestSpecClone(t *testing.T) {
	var s Spec
	fill(reflect.ValueOf(&s).Elem())
	c := s.Clone()
	if !reflect.DeepEqual(&s, c) {
		t.Fatalf("the clone differs:\n%+v\n%+v", s, *c)
	}
	if p := shared(reflect.ValueOf(s), reflect.ValueOf(*c), "Spec"); p != "" {
		t.Errorf("the clone shares %s with its spec", p)
	}
	d := DefaultSpec([]string{"/bin/true"})
	if !reflect.DeepEqual(d, d.Clone()) {
		t.Errorf("DefaultSpec's clone differs")
	}
}
