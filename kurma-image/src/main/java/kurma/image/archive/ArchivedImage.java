package kurma.image.archive;

import kurma.image.ImageManifest;

/** An image going into or coming out of an archive: its full normalized name (or null) and manifest. */
public record ArchivedImage(String name, ImageManifest manifest) {}
