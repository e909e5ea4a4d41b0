package main

import (
	"encoding/json"
	"io"
	"maps"
	"slices"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// description is what `describe` prints: enough for a gateway to check a
// binary before it starts it (no handshake, no network).
type description struct {
	Name             string   `json:"name"`
	Version          string   `json:"version"`
	PluginName       string   `json:"plugin_name"`
	ProtocolVersions []int    `json:"protocol_versions"`
	MagicCookieKey   string   `json:"magic_cookie_key"`
	Services         []string `json:"services"`
	RPCs             []string `json:"rpcs"`
}

func describe(w io.Writer) error {
	d := description{
		Name:             "baton-cursor-plugin",
		Version:          version,
		PluginName:       handshake.PluginName,
		ProtocolVersions: slices.Sorted(maps.Keys(handshake.VersionedPlugins(nil))),
		MagicCookieKey:   handshake.Config.MagicCookieKey,
	}
	services := pluginv1.File_cursor_plugin_v1_plugin_proto.Services()
	for i := range services.Len() {
		svc := services.Get(i)
		d.Services = append(d.Services, string(svc.FullName()))
		for j := range svc.Methods().Len() {
			d.RPCs = append(d.RPCs, "/"+string(svc.FullName())+"/"+string(svc.Methods().Get(j).Name()))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
