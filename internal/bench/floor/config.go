package main

// Floor is the connector's configuration, written by hand in the shape
// baton-sdk's config.Generate produces.
type Floor struct {
	Members int `mapstructure:"members"`
	Seed    int `mapstructure:"seed"`
}

func (c *Floor) GetString(string) string            { return "" }
func (c *Floor) GetBool(string) bool                { return false }
func (c *Floor) GetStringSlice(string) []string     { return []string{} }
func (c *Floor) GetStringMap(string) map[string]any { return map[string]any{} }

func (c *Floor) GetInt(name string) int {
	switch name {
	case "members":
		return c.Members
	case "seed":
		return c.Seed
	}
	return 0
}
