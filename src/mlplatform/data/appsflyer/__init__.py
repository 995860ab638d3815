"""AppsFlyer: Pull API column layout, the seeded synthetic generator, the install-table builder."""
