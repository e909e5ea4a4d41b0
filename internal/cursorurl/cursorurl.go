// Package cursorurl holds Cursor's public address, which the host shows as a
// setting's default and the plugin's Admin API client uses when none is set.
package cursorurl

// AdminAPI is Cursor's Admin API base URL; its paths carry no version prefix.
const AdminAPI = "https://api.cursor.com"
