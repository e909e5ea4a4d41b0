package service

import (
	"fmt"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/cursorapi"
	"github.com/conductorone/baton-cursor/internal/simulator"
)

func BenchmarkBuildSnapshot100k(b *testing.B) {
	tenant, err := simulator.New(simulator.Config{Members: 100_000, Seed: 1, APIKey: simulator.DefaultAPIKey})
	if err != nil {
		b.Fatal(err)
	}
	sim := tenant.Members()
	rows := make([]cursorapi.Member, len(sim))
	for i, r := range sim { // what cursorapi decodes from the tenant's answer
		rows[i] = cursorapi.Member{ID: fmt.Sprint(r.ID), Email: r.Email, Name: r.Name, Role: r.Role, IsRemoved: r.IsRemoved}
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if snap := buildSnapshot(rows, nil, now); len(snap.all) != len(rows) {
			b.Fatalf("snapshot holds %d accounts, want %d", len(snap.all), len(rows))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/member")
}
