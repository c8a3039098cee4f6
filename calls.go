package sesame

import (
	"context"
	"errors"
	"github.com/sesame-go/sesame/driver"
)

// This file is every call the Manager makes to its store or Sealer, each
// timed for the StoreObserver, if any.

// phase returns the StoreCall phase of a Session's store calls.
func (s *Session) phase() string {
	if s.committed {
		return "commit"
	}
	return "load"
}

func (m *Manager) load(ctx context.Context, phase, id string) (*driver.Record, error) {
	ctx, end := m.startStore(ctx, phase, "load")
	rec, err := m.store.Load(ctx, id)
	end(err)
	return rec, err
}

func (m *Manager) save(ctx context.Context, id string, rec *driver.Record) error {
	ctx, end := m.startStore(ctx, "commit", "save")
	err := m.store.Save(ctx, id, rec)
	end(err)
	return err
}

// saveNew stores a new session under id, an ID just derived from a new
// token: with Create if the store has it, else with Save.
func (m *Manager) saveNew(ctx context.Context, id string, rec *driver.Record) error {
	if m.create == nil {
		return m.save(ctx, id, rec)
	}
	ctx, end := m.startStore(ctx, "commit", "create")
	err := m.create.Create(ctx, id, rec)
	end(err)
	return err
}

func (m *Manager) del(ctx context.Context, phase, id string) (bool, error) {
	ctx, end := m.startStore(ctx, phase, "delete")
	found, err := m.store.Delete(ctx, id)
	end(err)
	return found, err
}

func (m *Manager) apply(ctx context.Context, id string, d *driver.Delta) (bool, error) {
	ctx, end := m.startStore(ctx, "commit", "apply")
	deleted, err := m.delta.Apply(ctx, id, d)
	end(err)
	return deleted, err
}

func (m *Manager) renew(ctx context.Context, r driver.Renewer, oldID, newID string, d *driver.Delta) error {
	ctx, end := m.startStore(ctx, "commit", "renew")
	err := r.Renew(ctx, oldID, newID, d)
	end(err)
	return err
}

func (m *Manager) open(ctx context.Context, phase, value string) (driver.Sealed, error) {
	ctx, end := m.startStore(ctx, phase, "open")
	sealed, err := m.sealer.Open(ctx, m.cfg.Name, value)
	end(err)
	return sealed, err
}

func (m *Manager) seal(ctx context.Context, in driver.Sealed) (string, error) {
	ctx, end := m.startStore(ctx, "commit", "seal")
	v, err := m.sealer.Seal(ctx, m.cfg.Name, in)
	end(err)
	return v, err
}

func (m *Manager) revokeSealed(ctx context.Context, r driver.SealRevoker, in driver.Sealed) error {
	ctx, end := m.startStore(ctx, "commit", "revoke")
	err := r.Revoke(ctx, in)
	end(err)
	return err
}

// updateValue calls Update. The caller's own error (f's, or a limit's),
// which f sets in *ferr, is not the store's: the StoreObserver gets nil.
func (m *Manager) updateValue(ctx context.Context, u driver.Updater, id, key string, f func(any, bool) (any, error), ferr *error) (any, error) {
	ctx, end := m.startStore(ctx, "update", "update")
	v, err := u.Update(ctx, id, key, f)
	if err != nil && *ferr != nil && errors.Is(err, *ferr) {
		end(nil)
	} else {
		end(err)
	}
	return v, err
}

func (m *Manager) capUser(ctx context.Context, user, keep string, refuse bool) ([]Info, error) {
	ctx, end := m.startStore(ctx, "commit", "cap user")
	list, err := m.capper.CapUser(ctx, user, keep, m.cfg.MaxSessionsPerUser, refuse)
	end(err)
	return list, err
}

func (m *Manager) sessions(ctx context.Context, us driver.UserStore, user string) ([]Info, error) {
	ctx, end := m.startStore(ctx, "manager", "sessions")
	list, err := us.Sessions(ctx, user)
	end(err)
	return list, err
}

func (m *Manager) deleteUser(ctx context.Context, d driver.UserDeleter, user, keep string) (int, error) {
	ctx, end := m.startStore(ctx, "manager", "delete user")
	n, err := d.DeleteUser(ctx, user, keep)
	end(err)
	return n, err
}
