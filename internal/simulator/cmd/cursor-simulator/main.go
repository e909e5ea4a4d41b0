// Command cursor-simulator serves the simulated Cursor tenant on loopback, for
// tests, the demo and the benchmarks. It is its own binary so that the shipped
// baton-cursor-plugin never links the simulator (nor its SCIM server and demo
// key).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

func main() {
	if err := simulator.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "cursor-simulator: %v\n", err)
		os.Exit(2)
	}
}
