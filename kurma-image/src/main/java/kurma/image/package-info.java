/**
 * Kurma's image library: references normalized as Docker does, a content-addressable blob
 * store in the OCI image-layout format, a registry client, archive import/export, and layer
 * unpacking into snapshots that become a container's root filesystem.
 */
package kurma.image;
