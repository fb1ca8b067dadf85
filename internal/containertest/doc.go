// Package containertest is the container test: it builds the kitshop image
// offline (scripts/docker-build-offline.sh), runs docker-compose.yml under a
// project name of its own with short resilience settings, and walks through
// the shop and its faults as a user of the containers would: an order
// through the gateway, usersvc killed and started again, productsvc paused
// and unpaused, ordersvc restarted, and at the end stock and orders that
// add up. Everything it started is removed afterwards, volumes and image
// included, also when it fails.
//
// It needs a Docker engine and docker-compose (v1) or docker compose (v2).
// Without an engine it is skipped, saying "SKIPPED: no Docker engine";
// KITSHOP_REQUIRE_DOCKER=1 turns that skip into a failure, for CI machines
// that are meant to have Docker. -short skips it too. KITSHOP_COMPOSE picks
// the compose command ("docker-compose" or "docker compose").
//
// There is no code here but the tests; see docs/CONTAINERS.md.
package containertest
