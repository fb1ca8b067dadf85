package userservice

import (
	"container/list"
	"context"
	"sync"
)

// DefaultCacheSize is how many users NewCachedStore keeps unless told
// otherwise: a few MiB at most.
const DefaultCacheSize = 10000

// NewCachedStore puts an in-memory cache of up to size users (least
// recently used out first) in front of store's GetUser. A user is never
// deleted and changes only when an admin bootstrap promotes it at an
// instance's start, so a cached user is stale at most in its role, on an
// instance that cached it before another's start promoted it; tokens carry
// the role read at sign-in, never this cache's. Lookups that find nothing are not cached: the user may be
// created a moment later, through another instance. Every other method
// goes to store as it is.
func NewCachedStore(store Store, size int) Store {
	if size <= 0 {
		return store
	}
	return &cachedStore{Store: store, size: size, byID: make(map[string]*list.Element), order: list.New()}
}

type cachedStore struct {
	Store
	size int

	mu    sync.Mutex
	byID  map[string]*list.Element // of User
	order *list.List               // front: most recently used
}

// GetUser implements Store.
func (c *cachedStore) GetUser(ctx context.Context, id string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	c.mu.Lock()
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		u := e.Value.(User)
		c.mu.Unlock()
		return u, nil
	}
	c.mu.Unlock()
	u, err := c.Store.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; !ok {
		c.byID[id] = c.order.PushFront(u)
		if c.order.Len() > c.size {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.byID, oldest.Value.(User).ID)
		}
	}
	return u, nil
}
