// checkstorage.go: the storage check provisions with. Provisioning reads
// what is stored (the internal CA of a pki_root trust pool, a CA's own
// storage) and may write (a CA made or renewed, locks); check must read
// what Caddy would read and write nothing where Caddy keeps its data. Every
// storage of the configuration is wrapped: reads fall through to the
// configured file_system storage, writes, deletes and locks go to a
// temporary overlay that check removes.

package clientcertificate

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

func init() {
	caddy.RegisterModule(checkStorage{})
}

// checkStorage is the storage module check puts in place of every storage
// of a configuration it provisions offline (not meant to be configured).
type checkStorage struct {
	// Root is the configured file_system storage's directory, read
	// through; empty when the configured storage is not file_system
	// (check contacts no storage over the network): nothing is read.
	Root string `json:"root,omitempty"`
	// Overlay is a temporary directory that takes every write.
	Overlay string `json:"overlay"`
}

// CaddyModule returns the Caddy module information.
func (checkStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.client_certificate_check",
		New: func() caddy.Module { return new(checkStorage) },
	}
}

// CertMagicStorage implements caddy.StorageConverter.
func (s *checkStorage) CertMagicStorage() (certmagic.Storage, error) {
	if s.Overlay == "" {
		return nil, errors.New("client_certificate_check storage: no overlay directory")
	}
	o := &overlayStorage{over: &certmagic.FileStorage{Path: s.Overlay}, deleted: map[string]bool{}}
	if s.Root != "" {
		o.real = &certmagic.FileStorage{Path: s.Root}
	}
	return o, nil
}

// overlayStorage reads from over, then from real; writes, deletes and
// locks go to over only. A key deleted is not read from real again.
type overlayStorage struct {
	real    certmagic.Storage // nil: nothing to read through
	over    certmagic.Storage
	mu      sync.Mutex
	deleted map[string]bool
}

func (o *overlayStorage) hidden(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.real == nil || o.deleted[key]
}

func (o *overlayStorage) Lock(ctx context.Context, name string) error {
	return o.over.Lock(ctx, name)
}

func (o *overlayStorage) Unlock(ctx context.Context, name string) error {
	return o.over.Unlock(ctx, name)
}

func (o *overlayStorage) Store(ctx context.Context, key string, value []byte) error {
	o.mu.Lock()
	delete(o.deleted, key)
	o.mu.Unlock()
	return o.over.Store(ctx, key, value)
}

func (o *overlayStorage) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := o.over.Load(ctx, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || o.hidden(key) {
		return b, err
	}
	return o.real.Load(ctx, key)
}

func (o *overlayStorage) Delete(ctx context.Context, key string) error {
	o.mu.Lock()
	o.deleted[key] = true
	o.mu.Unlock()
	err := o.over.Delete(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (o *overlayStorage) Exists(ctx context.Context, key string) bool {
	return o.over.Exists(ctx, key) || (!o.hidden(key) && o.real.Exists(ctx, key))
}

func (o *overlayStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	keys, err := o.over.List(ctx, path, recursive)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if o.real != nil {
		more, rerr := o.real.List(ctx, path, recursive)
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, rerr
		}
		for _, k := range more {
			if !o.hidden(k) && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		if err != nil && rerr == nil {
			err = nil
		}
	}
	return keys, err
}

func (o *overlayStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	ki, err := o.over.Stat(ctx, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || o.hidden(key) {
		return ki, err
	}
	return o.real.Stat(ctx, key)
}

// Interface guards
var (
	_ caddy.StorageConverter = (*checkStorage)(nil)
	_ certmagic.Storage      = (*overlayStorage)(nil)
)
