package kitshop

// Page limits of every list.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// ValidatePageLimit refuses a page size outside 1..MaxPageLimit with
// invalid_argument naming "limit".
func ValidatePageLimit(limit int) error {
	if limit < 1 || limit > MaxPageLimit {
		return InvalidArgument("limit", "must be an integer from 1 to %d", MaxPageLimit)
	}
	return nil
}

// ListPage is the one paging policy of every list: it checks limit, asks
// fetch for one item more than a page (after the item with ID after), and
// returns the page with the ID to continue after, "" on the last page.
func ListPage[T any](limit int, fetch func(limit int) ([]T, error), id func(T) string) ([]T, string, error) {
	if err := ValidatePageLimit(limit); err != nil {
		return nil, "", err
	}
	items, err := fetch(limit + 1)
	if err != nil {
		return nil, "", err
	}
	if len(items) > limit {
		return items[:limit], id(items[limit-1]), nil
	}
	return items, "", nil
}
