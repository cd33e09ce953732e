-- A product's default for floating licenses (docs/licensing.md#floating-licenses):
-- a new license is floating when its product's default_floating says so,
-- unless it is created with floating set; like default_expiry_start, the
-- default is copied at creation and a product's later change leaves its
-- licenses as they are (a license's type of seat never changes under it).
ALTER TABLE products ADD COLUMN default_floating boolean NOT NULL DEFAULT false;
