// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IPerpEngine} from "./interfaces/IPerpEngine.sol";

/// @title LiquidityVault
/// @notice ERC-4626 LP vault over the engine's collateral token with ERC-7540 asynchronous deposits and redemptions.
/// LPs are the counterparty of traders' net position: they earn fees and funding and bear traders' profits.
///
/// Why asynchronous (redteam RT-01b, RT-05): `totalAssets` is the engine's NAV, which reads the markets' price cache.
/// With a synchronous deposit/redeem an LP chooses the NAV it enters or leaves at: it deposits in the block before a
/// price move it sees coming (RT-01b), or redeems between a gap and the liquidation that books the bad debt the NAV
/// does not yet show (RT-05). So every entry and exit is a request: `requestDeposit` / `requestRedeem` escrow the
/// assets or shares here, and only after `lpSettleDelay` may a keeper (anyone) settle it, at the NAV current AT
/// SETTLE TIME. What protects the vault is that the settle NAV is computed from prices published after the request
/// (and after the keepers had `lpSettleDelay` to liquidate), not the NAV the LP saw when it decided. Settled shares
/// or assets become claimable; the ERC-4626 `deposit`/`mint`/`withdraw`/`redeem` are the ERC-7540 claim functions
/// and move nothing at a NAV the caller picks.
///
/// Residual risk (documented, not solved here): once `lpSettleDelay` has passed the request may be settled by anyone
/// at any moment, the controller included, so if no keeper settles it promptly the controller holds a short option on
/// the settle time (and, after `CANCEL_DELAY`, on cancelling). Keepers settle due requests in the same loop as
/// liquidations; a stricter design settles at the price of a fixed timestamp (`verifyAt`) per market.
///
/// The vault holds no trading money: settled deposits go to the engine, which keeps the vault's cash on its ledger.
/// It holds only the USDC of pending deposit requests, escrowed keeper fees and settled-but-unclaimed redemptions,
/// and the shares of pending redemptions and settled-but-unclaimed deposits (minted at settle, so `totalSupply` always
/// matches the cash the engine counts).
/// @dev Rounding is in the vault's favour: shares and assets paid out are rounded down, what a claim consumes is
/// rounded up. OpenZeppelin's virtual shares (decimals offset 6) make the first-depositor inflation attack cost the
/// attacker about a million times what it could take. One pending request per controller and direction, so
/// `requestId` is always 0 (ERC-7540's "requests of a controller are fungible" form). No ERC-7540 operators: only the
/// controller itself may request, claim or cancel (a third party could otherwise restart its cooldown or delay).
contract LiquidityVault is ERC4626, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice A pending request: shares (redeem) or assets (deposit), the keeper fee escrowed with it (token units)
    /// and when it was made. One storage slot.
    struct Request {
        uint128 amount;
        uint64 fee;
        uint64 requestedAt;
    }

    /// @notice What a settled request made claimable: `assets` and the `shares` they correspond to at the settle NAV.
    struct Claimable {
        uint128 assets;
        uint128 shares;
    }

    /// @notice The ERC-7540 request id of every request (requests are keyed by controller).
    uint256 public constant REQUEST_ID = 0;
    /// @notice A controller may cancel a request still pending this long after it was made.
    uint256 public constant CANCEL_DELAY = 1 hours;
    /// @notice Bounds of `lpSettleDelay`: long enough for keepers to liquidate after a move, short enough to settle
    /// well before a request becomes cancellable.
    uint256 public constant MIN_SETTLE_DELAY = 30;
    uint256 public constant MAX_SETTLE_DELAY = 30 minutes;
    /// @notice Upper bound of the keeper fee (token units of a 6-decimals token: 50 USDC).
    uint256 public constant MAX_KEEPER_FEE = 50e6;

    IPerpEngine public immutable engine;
    /// @notice Seconds an account's shares stay locked after it claims freshly minted shares.
    uint256 public immutable lpCooldown;
    uint256 internal immutable tokenToWad;

    /// @notice Seconds a request waits before it may be settled (default 60 s, longer than keepers need to liquidate).
    uint256 public lpSettleDelay = 60;
    /// @notice Flat keeper fee escrowed in the token with every request, paid to whoever settles it (default 0.5 USDC).
    uint256 public lpKeeperFee = 5e5;

    /// @notice When each account last received freshly minted shares.
    mapping(address => uint256) public lastDepositAt;
    mapping(address controller => Request) internal _pendingDeposit;
    mapping(address controller => Request) internal _pendingRedeem;
    mapping(address controller => Claimable) internal _claimableDeposit;
    mapping(address controller => Claimable) internal _claimableRedeem;

    /// @notice ERC-7540 events.
    event DepositRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 assets
    );
    event RedeemRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 shares
    );
    /// @notice A keeper settled `controller`'s deposit request: `assets` became `shares`, claimable; `fee` paid.
    event DepositSettled(address indexed controller, address indexed keeper, uint256 assets, uint256 shares, uint256 fee);
    /// @notice A keeper settled `controller`'s redeem request: `shares` burnt for `assets`, claimable; `fee` paid.
    event RedeemSettled(address indexed controller, address indexed keeper, uint256 shares, uint256 assets, uint256 fee);
    /// @notice The controller cancelled its pending request; `amount` (assets or shares) and `fee` went back.
    event DepositRequestCancelled(address indexed controller, uint256 assets, uint256 fee);
    event RedeemRequestCancelled(address indexed controller, uint256 shares, uint256 fee);
    event SettleDelaySet(uint256 delay);
    event KeeperFeeSet(uint256 fee);

    /// @notice The account's shares are locked until `unlocksAt` (it claimed new shares less than `lpCooldown` ago).
    error SharesLocked(address account, uint256 unlocksAt);
    /// @notice Deposits on behalf of another address would let anyone restart that address's cooldown.
    error DepositForAnotherAccount(address caller, address receiver);
    /// @notice The token delivered less than asked.
    error ShortTransfer(uint256 expected, uint256 received);
    /// @notice 1: a zero amount (assets or shares).
    error ZeroAmount();
    /// @notice 2: only the controller itself may request, claim or cancel (`owner`, `controller` and the caller must
    /// all be the same account).
    error NotController(address caller, address controller, address owner);
    /// @notice 3: the controller already has a pending request in this direction; settle or cancel it first.
    error RequestPending(address controller, uint256 requestedAt);
    /// @notice 4: nothing pending for this controller.
    error NoPendingRequest(address controller);
    /// @notice 5: the request may be settled from `settleableAt` on (`lpSettleDelay` after it was made).
    error SettleTooEarly(address controller, uint256 settleableAt);
    /// @notice 6: the request may be cancelled from `cancellableAt` on (`CANCEL_DELAY` after it was made).
    error CancelTooEarly(address controller, uint256 cancellableAt);
    /// @notice 7: the claim asks for more than is claimable.
    error ExceedsClaimable(address controller, uint256 requested, uint256 claimable);
    /// @notice 8: the vault does not accept deposits now (NAV zero with shares or a deficit outstanding).
    error DepositsClosed(uint256 totalAssets, uint256 totalSupply);
    /// @notice 9: the settle NAV gives this request nothing (zero shares or zero assets); cancel it after the delay.
    error ZeroSettlement(address controller, uint256 amount);
    /// @notice 10: a parameter outside its bounds.
    error ParameterOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice 11: the synchronous ERC-4626 flow is closed; use requestDeposit/requestRedeem, then claim.
    error UseRequestFlow();
    /// @notice 12: the redemption would take more than the cash open interest does not need (checked at request).
    error ExceedsRedeemable(address owner, uint256 shares, uint256 maxShares);

    constructor(IERC20 asset_, IPerpEngine engine_, uint256 lpCooldown_, string memory name_, string memory symbol_)
        ERC4626(asset_)
        ERC20(name_, symbol_)
        Ownable(msg.sender)
    {
        engine = engine_;
        lpCooldown = lpCooldown_;
        tokenToWad = engine_.tokenToWad();
    }

    // ================================================================== owner

    function setSettleDelay(uint256 delay) external onlyOwner {
        if (delay < MIN_SETTLE_DELAY || delay > MAX_SETTLE_DELAY) {
            revert ParameterOutOfBounds(delay, MIN_SETTLE_DELAY, MAX_SETTLE_DELAY);
        }
        lpSettleDelay = delay;
        emit SettleDelaySet(delay);
    }

    /// @dev Applies to new requests only: each request keeps the fee escrowed with it.
    function setKeeperFee(uint256 fee) external onlyOwner {
        if (fee > MAX_KEEPER_FEE) revert ParameterOutOfBounds(fee, 0, MAX_KEEPER_FEE);
        lpKeeperFee = fee;
        emit KeeperFeeSet(fee);
    }

    // ================================================================== requests

    /// @notice Escrows `assets` plus the keeper fee (pulled from `owner` = the caller) as a deposit request of
    /// `controller` (the caller too). Settled no earlier than `lpSettleDelay` from now, at the NAV then.
    function requestDeposit(uint256 assets, address controller, address owner)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        if (assets == 0) revert ZeroAmount();
        _onlySelf(controller, owner);
        Request memory pending = _pendingDeposit[controller];
        if (pending.requestedAt != 0) revert RequestPending(controller, pending.requestedAt);
        if (!_acceptsDeposits()) revert DepositsClosed(totalAssets(), totalSupply());
        uint256 fee = lpKeeperFee;
        _pendingDeposit[controller] = Request(assets.toUint128(), uint64(fee), uint64(block.timestamp));
        _pull(owner, assets + fee);
        emit DepositRequest(controller, owner, REQUEST_ID, msg.sender, assets);
        return REQUEST_ID;
    }

    /// @notice Locks `shares` of `owner` (the caller, past its cooldown) here as a redeem request of `controller`
    /// (the caller too) and escrows the keeper fee in the token. Settled no earlier than `lpSettleDelay` from now, at
    /// the NAV then.
    function requestRedeem(uint256 shares, address controller, address owner)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        if (shares == 0) revert ZeroAmount();
        _onlySelf(controller, owner);
        Request memory pending = _pendingRedeem[controller];
        if (pending.requestedAt != 0) revert RequestPending(controller, pending.requestedAt);
        // Cooldown first (SharesLocked, as a transfer would say), then the backing limit as it stands now; the
        // backing is checked again by the engine at settle.
        if (_locked(owner)) revert SharesLocked(owner, lastDepositAt[owner] + lpCooldown);
        uint256 maxShares = maxRedeem(owner);
        if (shares > maxShares) revert ExceedsRedeemable(owner, shares, maxShares);
        uint256 fee = lpKeeperFee;
        _pendingRedeem[controller] = Request(shares.toUint128(), uint64(fee), uint64(block.timestamp));
        _transfer(owner, address(this), shares);
        if (fee != 0) _pull(owner, fee);
        emit RedeemRequest(controller, owner, REQUEST_ID, msg.sender, shares);
        return REQUEST_ID;
    }

    // ================================================================== settlement (any keeper)

    /// @notice Settles `controller`'s deposit request at the NAV now: its assets go to the engine as vault cash, the
    /// shares are minted here, claimable by the controller; the escrowed fee goes to the caller.
    /// @dev The NAV read here comes from the engine's price cache: what matters for RT-01b is that the prices it reads
    /// were published after the request (a keeper pushes them in the same block), so the move the LP saw coming is
    /// already in the NAV its shares are priced at.
    function settleDeposit(address controller) external nonReentrant returns (uint256 shares) {
        Request memory r = _due(_pendingDeposit[controller], controller);
        if (!_acceptsDeposits()) revert DepositsClosed(totalAssets(), totalSupply());
        uint256 assets = r.amount;
        shares = _convertToShares(assets, Math.Rounding.Floor);
        if (shares == 0) revert ZeroSettlement(controller, assets);
        delete _pendingDeposit[controller];
        Claimable storage c = _claimableDeposit[controller];
        c.assets += assets.toUint128();
        c.shares += shares.toUint128();
        _mint(address(this), shares);
        IERC20 token = IERC20(asset());
        address engineAddress = address(engine);
        uint256 balanceBefore = token.balanceOf(engineAddress);
        token.safeTransfer(engineAddress, assets);
        uint256 received = token.balanceOf(engineAddress) - balanceBefore;
        if (received != assets) revert ShortTransfer(assets, received);
        engine.vaultDeposit(assets);
        if (r.fee != 0) token.safeTransfer(msg.sender, r.fee);
        emit DepositSettled(controller, msg.sender, assets, shares, r.fee);
    }

    /// @notice Settles `controller`'s redeem request at the NAV now: the escrowed shares are burnt and their assets
    /// (rounded down) come here from the engine, claimable by the controller; the escrowed fee goes to the caller.
    /// Settles only what the cash open interest does not need covers; the rest stays pending (RT-05: the NAV used is the
    /// one after the keepers' `lpSettleDelay` to liquidate, so bad debt that existed at the request is booked).
    function settleRedeem(address controller) external nonReentrant returns (uint256 assets) {
        Request memory r = _due(_pendingRedeem[controller], controller);
        uint256 shares = r.amount;
        assets = _convertToAssets(shares, Math.Rounding.Floor);
        uint256 liquidity = _liquidity();
        if (assets > liquidity) {
            // The backing limit binds (the NAV may have risen since the request, or open interest grown): settle the
            // shares the free cash covers, rounded down; the rest stays pending (same time, fee already paid), to be
            // settled later or cancelled by the controller.
            shares = _convertToShares(liquidity, Math.Rounding.Floor);
            assets = _convertToAssets(shares, Math.Rounding.Floor);
            if (assets == 0) revert ZeroSettlement(controller, r.amount);
            _pendingRedeem[controller] = Request(uint128(r.amount - shares), 0, r.requestedAt);
        } else {
            if (assets == 0) revert ZeroSettlement(controller, shares);
            delete _pendingRedeem[controller];
        }
        Claimable storage c = _claimableRedeem[controller];
        c.assets += assets.toUint128();
        c.shares += shares.toUint128();
        _burn(address(this), shares);
        engine.vaultWithdraw(assets, address(this));
        if (r.fee != 0) IERC20(asset()).safeTransfer(msg.sender, r.fee);
        emit RedeemSettled(controller, msg.sender, shares, assets, r.fee);
    }

    // ================================================================== cancel (controller, after CANCEL_DELAY)

    function cancelDepositRequest(address controller) external nonReentrant {
        Request memory r = _cancellable(_pendingDeposit[controller], controller);
        delete _pendingDeposit[controller];
        IERC20(asset()).safeTransfer(controller, uint256(r.amount) + r.fee);
        emit DepositRequestCancelled(controller, r.amount, r.fee);
    }

    function cancelRedeemRequest(address controller) external nonReentrant {
        Request memory r = _cancellable(_pendingRedeem[controller], controller);
        delete _pendingRedeem[controller];
        _transfer(address(this), controller, r.amount);
        if (r.fee != 0) IERC20(asset()).safeTransfer(controller, r.fee);
        emit RedeemRequestCancelled(controller, r.amount, r.fee);
    }

    // ================================================================== claims (ERC-7540 form of ERC-4626)

    /// @notice Claims `assets` worth of `controller`'s settled deposit as shares (rounded down) to `receiver` (the
    /// controller). Starts the receiver's cooldown.
    function deposit(uint256 assets, address receiver, address controller) public nonReentrant returns (uint256 shares) {
        Claimable memory c = _claimer(_claimableDeposit[controller], controller, receiver, assets, UNIT_ASSETS);
        shares = assets == c.assets ? c.shares : Math.mulDiv(c.shares, assets, c.assets, Math.Rounding.Floor);
        _claimDeposit(controller, receiver, assets, shares);
    }

    /// @notice Claims `shares` of `controller`'s settled deposit; consumes the assets they stand for, rounded up.
    function mint(uint256 shares, address receiver, address controller) public nonReentrant returns (uint256 assets) {
        Claimable memory c = _claimer(_claimableDeposit[controller], controller, receiver, shares, UNIT_SHARES);
        assets = shares == c.shares ? c.assets : Math.mulDiv(c.assets, shares, c.shares, Math.Rounding.Ceil);
        _claimDeposit(controller, receiver, assets, shares);
    }

    /// @notice ERC-7540 `deposit(assets, receiver)`: claims with the caller as controller.
    function deposit(uint256 assets, address receiver) public override returns (uint256) {
        return deposit(assets, receiver, msg.sender);
    }

    function mint(uint256 shares, address receiver) public override returns (uint256) {
        return mint(shares, receiver, msg.sender);
    }

    /// @notice Claims `assets` of `controller`'s settled redemption to `receiver` (any address); consumes the shares
    /// they stand for, rounded up. The third argument is the controller (ERC-7540), not a share owner.
    function withdraw(uint256 assets, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 shares)
    {
        Claimable memory c = _claimer(_claimableRedeem[controller], controller, address(0), assets, UNIT_ASSETS);
        shares = assets == c.assets ? c.shares : Math.mulDiv(c.shares, assets, c.assets, Math.Rounding.Ceil);
        _claimRedeem(controller, receiver, assets, shares);
    }

    /// @notice Claims the assets of `shares` of `controller`'s settled redemption (rounded down) to `receiver`.
    function redeem(uint256 shares, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 assets)
    {
        Claimable memory c = _claimer(_claimableRedeem[controller], controller, address(0), shares, UNIT_SHARES);
        assets = shares == c.shares ? c.assets : Math.mulDiv(c.assets, shares, c.shares, Math.Rounding.Floor);
        _claimRedeem(controller, receiver, assets, shares);
    }

    // ================================================================== views

    function pendingDepositRequest(uint256, address controller) external view returns (uint256 assets) {
        return _pendingDeposit[controller].amount;
    }

    function claimableDepositRequest(uint256, address controller) external view returns (uint256 assets) {
        return _claimableDeposit[controller].assets;
    }

    function pendingRedeemRequest(uint256, address controller) external view returns (uint256 shares) {
        return _pendingRedeem[controller].amount;
    }

    function claimableRedeemRequest(uint256, address controller) external view returns (uint256 shares) {
        return _claimableRedeem[controller].shares;
    }

    /// @notice The whole pending deposit request: assets, escrowed fee, time made (0 = none).
    function pendingDeposit(address controller) external view returns (Request memory) {
        return _pendingDeposit[controller];
    }

    function pendingRedeem(address controller) external view returns (Request memory) {
        return _pendingRedeem[controller];
    }

    /// @notice Settled, unclaimed deposit: assets and the shares they became.
    function claimableDeposit(address controller) external view returns (Claimable memory) {
        return _claimableDeposit[controller];
    }

    /// @notice Settled, unclaimed redemption: shares burnt and the assets they became.
    function claimableRedeem(address controller) external view returns (Claimable memory) {
        return _claimableRedeem[controller];
    }

    /// @notice NAV in token units, rounded down.
    function totalAssets() public view override returns (uint256) {
        return engine.vaultNav() / tokenToWad;
    }

    /// @notice ERC-7540: the claimable assets of `controller`'s settled deposit.
    function maxDeposit(address controller) public view override returns (uint256) {
        return _claimableDeposit[controller].assets;
    }

    /// @notice ERC-7540: the claimable shares of `controller`'s settled deposit.
    function maxMint(address controller) public view override returns (uint256) {
        return _claimableDeposit[controller].shares;
    }

    /// @notice What a redeem request by `owner` could take now, in assets: 0 during the cooldown, otherwise its
    /// shares' value capped by the cash open interest does not need. (Deviation from ERC-7540, where this is the
    /// claimable amount: see `claimableRedeem`. Kept because LPs and keepers size requests with it.)
    function maxWithdraw(address owner) public view override returns (uint256) {
        if (_locked(owner)) return 0;
        return Math.min(_convertToAssets(balanceOf(owner), Math.Rounding.Floor), _liquidity());
    }

    /// @notice The shares a redeem request by `owner` may lock now: 0 during the cooldown, capped by the backing.
    function maxRedeem(address owner) public view override returns (uint256) {
        if (_locked(owner)) return 0;
        return Math.min(balanceOf(owner), _convertToShares(_liquidity(), Math.Rounding.Floor));
    }

    /// @dev ERC-7540: previews MUST revert for asynchronous flows (the price is the one at settle).
    function previewDeposit(uint256) public pure override returns (uint256) {
        revert UseRequestFlow();
    }

    function previewMint(uint256) public pure override returns (uint256) {
        revert UseRequestFlow();
    }

    function previewWithdraw(uint256) public pure override returns (uint256) {
        revert UseRequestFlow();
    }

    function previewRedeem(uint256) public pure override returns (uint256) {
        revert UseRequestFlow();
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0xce3bbe50 // ERC-7540 async deposit
            || interfaceId == 0x620ee8e4; // ERC-7540 async redeem
    }

    // ================================================================== internals

    uint8 private constant UNIT_ASSETS = 0;
    uint8 private constant UNIT_SHARES = 1;

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    /// @dev `receiver == address(0)`: any receiver (redemption claims pay the token, which restarts nothing).
    function _claimer(Claimable storage slot, address controller, address receiver, uint256 amount, uint8 unit)
        internal
        view
        returns (Claimable memory c)
    {
        if (amount == 0) revert ZeroAmount();
        if (msg.sender != controller) revert NotController(msg.sender, controller, controller);
        if (receiver != address(0) && receiver != controller) revert DepositForAnotherAccount(controller, receiver);
        c = slot;
        uint256 available = unit == UNIT_ASSETS ? c.assets : c.shares;
        if (amount > available) revert ExceedsClaimable(controller, amount, available);
    }

    function _claimDeposit(address controller, address receiver, uint256 assets, uint256 shares) internal {
        Claimable storage c = _claimableDeposit[controller];
        c.assets -= assets.toUint128();
        c.shares -= shares.toUint128();
        lastDepositAt[receiver] = block.timestamp;
        _transfer(address(this), receiver, shares);
        emit Deposit(controller, receiver, assets, shares);
    }

    function _claimRedeem(address controller, address receiver, uint256 assets, uint256 shares) internal {
        Claimable storage c = _claimableRedeem[controller];
        c.assets -= assets.toUint128();
        c.shares -= shares.toUint128();
        if (assets != 0) IERC20(asset()).safeTransfer(receiver, assets);
        emit Withdraw(controller, receiver, controller, assets, shares);
    }

    function _due(Request storage slot, address controller) internal view returns (Request memory r) {
        r = slot;
        if (r.requestedAt == 0) revert NoPendingRequest(controller);
        uint256 settleableAt = uint256(r.requestedAt) + lpSettleDelay;
        if (block.timestamp < settleableAt) revert SettleTooEarly(controller, settleableAt);
    }

    function _cancellable(Request storage slot, address controller) internal view returns (Request memory r) {
        if (msg.sender != controller) revert NotController(msg.sender, controller, controller);
        r = slot;
        if (r.requestedAt == 0) revert NoPendingRequest(controller);
        uint256 cancellableAt = uint256(r.requestedAt) + CANCEL_DELAY;
        if (block.timestamp < cancellableAt) revert CancelTooEarly(controller, cancellableAt);
    }

    function _onlySelf(address controller, address owner) internal view {
        if (msg.sender != owner || controller != owner) revert NotController(msg.sender, controller, owner);
    }

    function _pull(address from, uint256 amount) internal {
        IERC20 token = IERC20(asset());
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert ShortTransfer(amount, received);
    }

    /// @dev Shares in cooldown can be neither transferred nor burned, so the lock cannot be dodged by moving them.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && _locked(from)) revert SharesLocked(from, lastDepositAt[from] + lpCooldown);
        super._update(from, to, value);
    }

    /// @dev The vault's own escrow is never locked, nor is an account that never claimed shares (on a chain whose
    /// clock is still below `lpCooldown`, `0 + lpCooldown` would otherwise lock it).
    function _locked(address account) internal view returns (bool) {
        uint256 last = lastDepositAt[account];
        return last != 0 && block.timestamp < last + lpCooldown;
    }

    function _liquidity() internal view returns (uint256) {
        return engine.vaultWithdrawable() / tokenToWad;
    }

    function _acceptsDeposits() internal view returns (bool) {
        if (totalAssets() != 0) return true;
        return totalSupply() == 0 && engine.vaultCash() >= 0;
    }
}
