/**
 * Convex polygons as Box2D 2.3's `b2PolygonShape` builds them: the vertices
 * reordered by its gift-wrapping hull (starting at the rightmost, then lowest
 * point, counter-clockwise), outward edge normals, and mass properties by
 * triangle fans. The vertex order matters: contact feature ids are vertex
 * indices, and warm starting matches contact points by id.
 *
 * @module
 */

/** A convex polygon in its body's frame. */
export interface Polygon {
  /** Vertices, counter-clockwise, as `[x, y]`. */
  vertices: [number, number][];
  /** `normals[i]` is the outward unit normal of the edge from vertex i to i + 1. */
  normals: [number, number][];
  /** Area centroid. */
  centroid: [number, number];
}

/** Mass properties of a polygon of uniform density. */
export interface MassData {
  mass: number;
  /** Centre of mass in the body's frame. */
  center: [number, number];
  /** Rotational inertia about the centre of mass. */
  inertia: number;
}

/** The convex hull of `points` in Box2D's vertex order (`b2PolygonShape::Set`). */
export function polygonFromPoints(points: readonly (readonly [number, number])[]): Polygon {
  const ps = points.map(([x, y]) => [x, y] as [number, number]);
  let i0 = 0;
  for (let i = 1; i < ps.length; i++) {
    const [x, y] = ps[i], [x0, y0] = ps[i0];
    if (x > x0 || (x === x0 && y < y0)) i0 = i;
  }
  const hull: number[] = [];
  let ih = i0;
  for (;;) {
    hull.push(ih);
    let ie = 0;
    for (let j = 1; j < ps.length; j++) {
      if (ie === ih) {
        ie = j;
        continue;
      }
      const rx = ps[ie][0] - ps[ih][0], ry = ps[ie][1] - ps[ih][1];
      const vx = ps[j][0] - ps[ih][0], vy = ps[j][1] - ps[ih][1];
      const c = rx * vy - ry * vx;
      if (c < 0 || (c === 0 && vx * vx + vy * vy > rx * rx + ry * ry)) ie = j;
    }
    ih = ie;
    if (ie === i0) break;
  }
  if (hull.length < 3) throw new Error("a polygon needs 3 or more points not on one line");
  return withNormals(hull.map((i) => ps[i]));
}

/** A box of half-extents `hx` x `hy` centred on the origin (`b2PolygonShape::SetAsBox`). */
export function boxPolygon(hx: number, hy: number): Polygon {
  return {
    vertices: [[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]],
    normals: [[0, -1], [1, 0], [0, 1], [-1, 0]],
    centroid: [0, 0],
  };
}

function withNormals(vertices: [number, number][]): Polygon {
  const n = vertices.length;
  const normals = vertices.map(([x1, y1], i): [number, number] => {
    const [x2, y2] = vertices[(i + 1) % n];
    const ex = x2 - x1, ey = y2 - y1, len = Math.hypot(ex, ey);
    return [ey / len, -ex / len];
  });
  return { vertices, normals, centroid: polygonMass(vertices, 1).center };
}

/**
 * Mass, centre and inertia about the centre (`b2PolygonShape::ComputeMass`,
 * then the shift `b2Body::ResetMassData` makes), from triangles fanned out of
 * the vertices' mean for accuracy.
 */
export function polygonMass(vertices: readonly [number, number][], density: number): MassData {
  const n = vertices.length;
  let sx = 0, sy = 0;
  for (const [x, y] of vertices) (sx += x), (sy += y);
  sx /= n, sy /= n;
  let area = 0, cx = 0, cy = 0, inertia = 0;
  for (let i = 0; i < n; i++) {
    const e1x = vertices[i][0] - sx, e1y = vertices[i][1] - sy;
    const e2x = vertices[(i + 1) % n][0] - sx, e2y = vertices[(i + 1) % n][1] - sy;
    const d = e1x * e2y - e1y * e2x;
    const triangleArea = 0.5 * d;
    area += triangleArea;
    cx += (triangleArea / 3) * (e1x + e2x);
    cy += (triangleArea / 3) * (e1y + e2y);
    const intx2 = e1x * e1x + e2x * e1x + e2x * e2x;
    const inty2 = e1y * e1y + e2y * e1y + e2y * e2y;
    inertia += (0.25 / 3) * d * (intx2 + inty2);
  }
  cx /= area, cy /= area;
  const mass = density * area;
  // Inertia about the mean point, moved to the centre of mass.
  return {
    mass,
    center: [cx + sx, cy + sy],
    inertia: density * inertia - mass * (cx * cx + cy * cy),
  };
}
