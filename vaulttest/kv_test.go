package vaulttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestKVv2RoundTripWithVersions(t *testing.T) {
	run := start(t)
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	for i, data := range []map[string]any{{"key": "k1", "n": 1}, {"key": "k2", "n": 2.5}} {
		s, err := kv.Put(ctx, "qfpay/demo", data)
		if err != nil {
			t.Fatal(err)
		}
		if s.VersionMetadata.Version != i+1 {
			t.Fatalf("put %d: version = %d", i, s.VersionMetadata.Version)
		}
	}
	got, err := kv.Get(ctx, "qfpay/demo")
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["key"] != "k2" || got.Data["n"] != json.Number("2.5") || got.VersionMetadata.Version != 2 {
		t.Fatalf("latest = %#v %+v", got.Data, got.VersionMetadata)
	}
	if got.VersionMetadata.CreatedTime.IsZero() || !got.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("metadata times = %+v", got.VersionMetadata)
	}
	old, err := kv.GetVersion(ctx, "qfpay/demo", 1)
	if err != nil || old.Data["key"] != "k1" || old.Data["n"] != json.Number("1") {
		t.Fatalf("version 1 = %#v, %v", old, err)
	}
	md, err := kv.GetMetadata(ctx, "qfpay/demo")
	if err != nil || md.CurrentVersion != 2 || len(md.Versions) != 2 || md.OldestVersion != 0 {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
	if err := kv.Delete(ctx, "qfpay/demo"); err != nil {
		t.Fatal(err)
	}
	gone, err := kv.Get(ctx, "qfpay/demo")
	if err != nil {
		t.Fatalf("soft-deleted latest must not be an error: %v", err)
	}
	if gone.Data != nil || gone.VersionMetadata.Version != 2 || gone.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("soft-deleted = %#v %+v", gone.Data, gone.VersionMetadata)
	}
	if old, err := kv.GetVersion(ctx, "qfpay/demo", 1); err != nil || old.Data["key"] != "k1" {
		t.Fatalf("older version after delete = %#v, %v", old, err)
	}
	if n := run.Calls("GET /v1/secret/data/qfpay/demo"); n != 4 {
		t.Fatalf("GET calls = %d, want 4", n)
	}
}

func TestKVv2NotFound(t *testing.T) {
	run := start(t)
	run.Put("secret", "qfpay/demo", map[string]any{"key": "k"})
	run.Put("secret", "qfpay/destroyed", map[string]any{"key": "k"})
	run.Destroy("secret", "qfpay/destroyed")
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
	}{
		{"missing path", func() error { _, err := kv.Get(ctx, "qfpay/nope"); return err }},
		{"missing version", func() error { _, err := kv.GetVersion(ctx, "qfpay/demo", 9); return err }},
		{"destroyed secret", func() error { _, err := kv.Get(ctx, "qfpay/destroyed"); return err }},
		{"missing metadata", func() error { _, err := kv.GetMetadata(ctx, "qfpay/nope"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, api.ErrSecretNotFound) {
				t.Fatalf("err = %v, want ErrSecretNotFound", err)
			}
		})
	}
}

func TestKVv2HelpersShareStateWithHTTP(t *testing.T) {
	run := start(t)
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	if v := run.Put("secret", "m/1", map[string]any{"key": "a"}); v != 1 {
		t.Fatalf("helper put version = %d", v)
	}
	if s, err := kv.Put(ctx, "m/1", map[string]any{"key": "b"}); err != nil || s.VersionMetadata.Version != 2 {
		t.Fatalf("client put = %+v, %v", s, err)
	}
	if v := run.Put("secret", "m/1", map[string]any{"key": "c"}); v != 3 {
		t.Fatalf("helper put version = %d", v)
	}
	run.SoftDelete("secret", "m/1")
	s, err := kv.Get(ctx, "m/1")
	if err != nil || s.Data != nil || s.VersionMetadata.Version != 3 {
		t.Fatalf("after SoftDelete = %+v, %v", s, err)
	}
	run.Destroy("secret", "m/1")
	if _, err := kv.GetMetadata(ctx, "m/1"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("after Destroy metadata err = %v", err)
	}
}

func TestKVv2CheckAndSet(t *testing.T) {
	run := start(t)
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	run.Put("secret", "cas", map[string]any{"v": 1})
	if _, err := kv.Put(ctx, "cas", map[string]any{"v": 2}, api.WithCheckAndSet(0)); err == nil {
		t.Fatal("cas=0 on an existing secret must fail")
	} else {
		wantStatus(t, err, 400, "check-and-set parameter did not match the current version")
	}
	if s, err := kv.Put(ctx, "cas", map[string]any{"v": 2}, api.WithCheckAndSet(1)); err != nil || s.VersionMetadata.Version != 2 {
		t.Fatalf("cas=1 = %+v, %v", s, err)
	}
	if err := kv.PutMetadata(ctx, "cas", api.KVMetadataPutInput{CASRequired: true}); err != nil {
		t.Fatal(err)
	}
	_, err := kv.Put(ctx, "cas", map[string]any{"v": 3})
	wantStatus(t, err, 400, "check-and-set parameter required for this call")
}

func TestKVv2PatchDeleteUndeleteDestroy(t *testing.T) {
	run := start(t)
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	run.Put("secret", "p", map[string]any{"a": "1", "b": "2"})
	if s, err := kv.Patch(ctx, "p", map[string]any{"b": nil, "c": "3"}); err != nil || s.VersionMetadata.Version != 2 {
		t.Fatalf("patch = %+v, %v", s, err)
	}
	got, err := kv.Get(ctx, "p")
	if err != nil || got.Data["a"] != "1" || got.Data["c"] != "3" || len(got.Data) != 2 {
		t.Fatalf("patched = %#v, %v", got, err)
	}
	steps := []struct {
		name     string
		act      func() error
		wantData bool
	}{
		{"delete", func() error { return kv.DeleteVersions(ctx, "p", []int{1}) }, false},
		{"undelete", func() error { return kv.Undelete(ctx, "p", []int{1}) }, true},
		{"destroy", func() error { return kv.Destroy(ctx, "p", []int{1}) }, false},
		{"undelete after destroy", func() error { return kv.Undelete(ctx, "p", []int{1}) }, false},
	}
	for _, st := range steps {
		if err := st.act(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		v1, err := kv.GetVersion(ctx, "p", 1)
		if err != nil || (v1.Data != nil) != st.wantData {
			t.Fatalf("%s: version 1 = %#v, %v", st.name, v1, err)
		}
	}
	v1, _ := kv.GetVersion(ctx, "p", 1)
	if !v1.VersionMetadata.Destroyed {
		t.Fatal("version 1 should report destroyed")
	}
	if _, err := kv.Patch(ctx, "missing", map[string]any{"a": "1"}); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("patch of a missing secret: %v", err)
	}
}

func TestKVv2MaxVersionsAndCustomMetadata(t *testing.T) {
	run := start(t)
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	ctx := context.Background()
	for i := range 12 {
		run.Put("secret", "many", map[string]any{"i": i})
	}
	md, err := kv.GetMetadata(ctx, "many")
	if err != nil || md.CurrentVersion != 12 || md.OldestVersion != 3 || len(md.Versions) != 10 {
		t.Fatalf("metadata = %+v, %v", md, err)
	}
	if _, err := kv.GetVersion(ctx, "many", 2); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("pruned version err = %v", err)
	}
	in := api.KVMetadataPutInput{MaxVersions: 5, CustomMetadata: map[string]any{"owner": "qfpay"}}
	if err := kv.PutMetadata(ctx, "many", in); err != nil {
		t.Fatal(err)
	}
	got, err := kv.Get(ctx, "many")
	if err != nil || got.CustomMetadata["owner"] != "qfpay" {
		t.Fatalf("custom metadata = %#v, %v", got, err)
	}
	if md, _ := kv.GetMetadata(ctx, "many"); md.OldestVersion != 8 || md.MaxVersions != 5 {
		t.Fatalf("after max_versions=5: %+v", md)
	}
}

func TestKVv2ListAndV1StylePath(t *testing.T) {
	run := start(t)
	c := newClient(t, run, run.RootToken())
	for _, p := range []string{"qfpay/a", "qfpay/b/c", "other"} {
		run.Put("secret", p, map[string]any{"k": "v"})
	}
	list, err := c.Logical().List("secret/metadata/qfpay")
	if err != nil || list == nil {
		t.Fatalf("list = %v, %v", list, err)
	}
	if keys, _ := list.Data["keys"].([]any); len(keys) != 2 || keys[0] != "a" || keys[1] != "b/" {
		t.Fatalf("keys = %#v", list.Data["keys"])
	}
	s, err := c.Logical().Read("secret/qfpay/a")
	if err != nil || s == nil || s.Data != nil || len(s.Warnings) != 1 ||
		!strings.HasPrefix(s.Warnings[0], "Invalid path for a versioned K/V secrets engine") {
		t.Fatalf("v1-style read on v2 = %+v, %v", s, err)
	}
}

func TestKVv1(t *testing.T) {
	run := start(t)
	run.EnableKV("kv", 1)
	c := newClient(t, run, run.RootToken())
	kv := c.KVv1("kv")
	ctx := context.Background()
	if err := kv.Put(ctx, "merchant/1", map[string]any{"key": "v", "n": 7}); err != nil {
		t.Fatal(err)
	}
	if v := run.Put("kv", "merchant/2", map[string]any{"key": "w"}); v != 0 {
		t.Fatalf("v1 helper put returned %d", v)
	}
	got, err := kv.Get(ctx, "merchant/1")
	if err != nil || got.Data["key"] != "v" || got.Data["n"] != json.Number("7") || got.VersionMetadata != nil {
		t.Fatalf("get = %#v, %v", got, err)
	}
	if got.Raw.LeaseDuration != 2764800 {
		t.Fatalf("lease_duration = %d", got.Raw.LeaseDuration)
	}
	list, err := c.Logical().List("kv/merchant")
	if err != nil || !slices.Equal(anyStrings(list.Data["keys"]), []string{"1", "2"}) {
		t.Fatalf("list = %#v, %v", list, err)
	}
	if err := kv.Delete(ctx, "merchant/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "merchant/1"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	run.SoftDelete("kv", "merchant/2")
	if _, err := kv.Get(ctx, "merchant/2"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("helper-deleted: %v", err)
	}
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
