package userservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

func TestCreateUserValidation(t *testing.T) {
	const okName, okEmail, okPassword = "Ada", "ada@example.com", "password"
	for _, tc := range []struct {
		name           string
		req            CreateUserRequest
		field          string // "" when valid
		wantNameLength int
	}{
		{"all valid", CreateUserRequest{okName, okEmail, okPassword}, "", 0},

		{"name one character", CreateUserRequest{"A", okEmail, okPassword}, "", 0},
		{"name 200 characters", CreateUserRequest{strings.Repeat("a", 200), okEmail, okPassword}, "", 0},
		{"name 200 two-byte characters", CreateUserRequest{strings.Repeat("é", 200), okEmail, okPassword}, "", 0},
		{"name 200 four-byte characters", CreateUserRequest{strings.Repeat("😀", 200), okEmail, okPassword}, "", 0},
		{"name with inner spaces", CreateUserRequest{" Ada  Lovelace ", okEmail, okPassword}, "", 0},
		{"name empty", CreateUserRequest{"", okEmail, okPassword}, "name", 0},
		{"name blank", CreateUserRequest{"   ", okEmail, okPassword}, "name", 0},
		{"name whitespace", CreateUserRequest{"\t\n\u00a0\u2003", okEmail, okPassword}, "name", 0},
		{"name 201 characters", CreateUserRequest{strings.Repeat("a", 201), okEmail, okPassword}, "name", 0},
		{"name 201 two-byte characters", CreateUserRequest{strings.Repeat("é", 201), okEmail, okPassword}, "name", 0},
		{"name invalid UTF-8", CreateUserRequest{"Ada\xff", okEmail, okPassword}, "name", 0},
		{"name with NUL", CreateUserRequest{"Ada\x00Lovelace", okEmail, okPassword}, "name", 0},
		{"name with newline", CreateUserRequest{"Ada\nLovelace", okEmail, okPassword}, "name", 0},
		{"name with DEL", CreateUserRequest{"Ada\x7f", okEmail, okPassword}, "name", 0},
		{"name with C1 control", CreateUserRequest{"Ada\u0085", okEmail, okPassword}, "name", 0},

		{"email with plus and case", CreateUserRequest{okName, "Ada.Lovelace+shop@Example.COM", okPassword}, "", 0},
		{"email subdomain", CreateUserRequest{okName, "a@mail.example.co.uk", okPassword}, "", 0},
		{"email empty", CreateUserRequest{okName, "", okPassword}, "email", 0},
		{"email no at", CreateUserRequest{okName, "ada.example.com", okPassword}, "email", 0},
		{"email no domain", CreateUserRequest{okName, "ada@", okPassword}, "email", 0},
		{"email no local part", CreateUserRequest{okName, "@example.com", okPassword}, "email", 0},
		{"email display name", CreateUserRequest{okName, "Ada <ada@example.com>", okPassword}, "email", 0},
		{"email quoted display name", CreateUserRequest{okName, `"Ada Lovelace" <ada@example.com>`, okPassword}, "email", 0},
		{"email angle brackets", CreateUserRequest{okName, "<ada@example.com>", okPassword}, "email", 0},
		{"email comment", CreateUserRequest{okName, "ada@example.com (Ada)", okPassword}, "email", 0},
		{"email leading space", CreateUserRequest{okName, " ada@example.com", okPassword}, "email", 0},
		{"email trailing newline", CreateUserRequest{okName, "ada@example.com\n", okPassword}, "email", 0},
		{"email two addresses", CreateUserRequest{okName, "ada@example.com, bob@example.com", okPassword}, "email", 0},
		{"email two ats", CreateUserRequest{okName, "ada@bob@example.com", okPassword}, "email", 0},
		{"email too long", CreateUserRequest{okName, strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", okPassword}, "email", 0},

		{"password 8 bytes", CreateUserRequest{okName, okEmail, "12345678"}, "", 0},
		{"password 72 bytes", CreateUserRequest{okName, okEmail, strings.Repeat("p", 72)}, "", 0},
		{"password 8 bytes in 4 characters", CreateUserRequest{okName, okEmail, "éééé"}, "", 0},
		{"password 72 bytes in 36 characters", CreateUserRequest{okName, okEmail, strings.Repeat("é", 36)}, "", 0},
		{"password empty", CreateUserRequest{okName, okEmail, ""}, "password", 0},
		{"password 7 bytes", CreateUserRequest{okName, okEmail, "1234567"}, "password", 0},
		{"password 7 characters but 6 bytes short", CreateUserRequest{okName, okEmail, "ééé"}, "password", 0},
		{"password 73 bytes", CreateUserRequest{okName, okEmail, strings.Repeat("p", 73)}, "password", 0},
		{"password 37 characters but 74 bytes", CreateUserRequest{okName, okEmail, strings.Repeat("é", 37)}, "password", 0},

		{"all missing names name first", CreateUserRequest{}, "name", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, _ := newTestService(t)
			u, err := svc.CreateUser(context.Background(), tc.req)
			if tc.field != "" {
				wantInvalid(t, err, tc.field)
				if tc.req.Password != "" && strings.Contains(err.Error(), tc.req.Password) {
					t.Fatalf("error %q repeats the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if u.Name != tc.req.Name || u.Email != tc.req.Email || !ids.Valid(IDPrefix, u.ID) {
				t.Fatalf("created %+v from %+v", u, tc.req)
			}
		})
	}
}

func TestCreateUserResult(t *testing.T) {
	svc, _ := newTestService(t)
	u, err := svc.CreateUser(context.Background(), validRequest("Ada@Example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if !u.CreatedAt.Equal(fixedNow.Truncate(time.Microsecond)) || u.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %s, want %s in UTC", u.CreatedAt, fixedNow)
	}
	if u.Email != "Ada@Example.com" {
		t.Errorf("email stored as %q, want it as given", u.Email)
	}
	// The password is never returned: the JSON has exactly these keys.
	data, _ := json.Marshal(u)
	var keys map[string]any
	_ = json.Unmarshal(data, &keys)
	if len(keys) != 5 || keys["id"] == nil || keys["name"] == nil || keys["email"] == nil || keys["role"] != "customer" || keys["created_at"] == nil {
		t.Fatalf("user JSON %s", data)
	}
	if strings.Contains(string(data), "analytical-engine") || strings.Contains(string(data), "$2a$") {
		t.Fatalf("user JSON %s carries the password or its hash", data)
	}
	got, err := svc.GetUser(context.Background(), u.ID)
	if err != nil || got != u {
		t.Fatalf("GetUser = %+v, %v; want %+v", got, err, u)
	}
}

func TestCreateUserDuplicateEmailIgnoringCase(t *testing.T) {
	svc, _ := newTestService(t)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, validRequest("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "ADA@example.com", "ada@EXAMPLE.COM"} {
		_, err := svc.CreateUser(ctx, validRequest(email))
		if !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("CreateUser(%s) = %v, want ErrAlreadyExists", email, err)
		}
		if transport.Status(err) != 409 {
			t.Fatalf("duplicate status %d", transport.Status(err))
		}
	}
}

func TestCreateUserConcurrentDuplicates(t *testing.T) {
	svc, _ := newTestService(t)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := svc.CreateUser(context.Background(), validRequest(fmt.Sprintf("%s@example.com", []string{"eve", "EVE", "Eve"}[i%3])))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, ErrAlreadyExists) {
			t.Errorf("loser got %v, want ErrAlreadyExists", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creations won, want exactly 1", won)
	}
}

func TestGetUserNotFound(t *testing.T) {
	store := newMemStore()
	svc := NewService(store, WithBcryptCost(bcrypt.MinCost))
	for _, id := range []string{"", "nope", "usr_", "prd_01jd3k5x0r8f3m4c8q9w2e7t6y", ids.New(IDPrefix), "usr_01jd3k5x0r8f3m4c8q9w2e7t6y' OR 1=1 --"} {
		if _, err := svc.GetUser(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetUser(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestListUsersPages(t *testing.T) {
	for _, total := range []int{0, 1, 6, 7} {
		t.Run(fmt.Sprint(total, " users"), func(t *testing.T) {
			svc, _ := newTestService(t)
			ctx := context.Background()
			var want []string
			for i := range total {
				u, err := svc.CreateUser(ctx, validRequest(fmt.Sprintf("u%d@example.com", i)))
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, u.ID)
			}
			sort.Strings(want)
			var got []string
			after, pages := "", 0
			for {
				users, next, err := svc.ListUsers(ctx, after, 3)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(users) > 3 {
					t.Fatalf("page of %d users with limit 3", len(users))
				}
				got = append(got, userIDs(users)...)
				if next == "" {
					break
				}
				if len(users) == 0 || next != users[len(users)-1].ID {
					t.Fatalf("next %q does not follow the page %v", next, userIDs(users))
				}
				if pages > total+1 {
					t.Fatal("pagination does not end")
				}
				after = next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("walked %v, want %v", got, want)
			}
			// No empty last page when the total is a multiple of the limit.
			if wantPages := max(1, (total+2)/3); pages != wantPages {
				t.Fatalf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

func TestListUsersLimit(t *testing.T) {
	svc := NewService(newMemStore())
	for _, limit := range []int{0, -1, kitshop.MaxPageLimit + 1} {
		_, _, err := svc.ListUsers(context.Background(), "", limit)
		wantInvalid(t, err, "limit")
	}
	for _, limit := range []int{1, kitshop.MaxPageLimit} {
		if _, _, err := svc.ListUsers(context.Background(), "", limit); err != nil {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}

func TestServicePassesStoreErrorsThrough(t *testing.T) {
	store := newMemStore()
	store.err = kitshop.Internal(errors.New("disk full"))
	svc := NewService(store, WithBcryptCost(bcrypt.MinCost))
	if _, err := svc.CreateUser(context.Background(), validRequest("a@example.com")); kitshop.AsError(err).Code != kitshop.CodeInternal {
		t.Errorf("CreateUser: %v", err)
	}
	if _, err := svc.GetUser(context.Background(), ids.New(IDPrefix)); kitshop.AsError(err).Code != kitshop.CodeInternal {
		t.Errorf("GetUser: %v", err)
	}
	if _, _, err := svc.ListUsers(context.Background(), "", 5); kitshop.AsError(err).Code != kitshop.CodeInternal {
		t.Errorf("ListUsers: %v", err)
	}
}

func TestBadBcryptCostIsInternal(t *testing.T) {
	svc := NewService(newMemStore(), WithBcryptCost(99))
	_, err := svc.CreateUser(context.Background(), validRequest("a@example.com"))
	if kitshop.AsError(err).Code != kitshop.CodeInternal {
		t.Fatalf("CreateUser with bcrypt cost 99: %v", err)
	}
}
