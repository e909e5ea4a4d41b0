// Command gen writes conf.gen.go for package config.
package main

import (
	cfg "github.com/conductorone/baton-cursor/host/config"
	"github.com/conductorone/baton-sdk/pkg/config"
)

func main() {
	config.Generate("cursor", cfg.Config)
}
